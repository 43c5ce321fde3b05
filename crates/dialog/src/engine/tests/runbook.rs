//! Runbooks in the engine (issue 27), on the example bot's blue/green
//! deploy: every step transition — run, read outputs, skip, ask, fail and
//! roll back, stop on a missing output, a restart mid-step, expiry, a dry run.

use std::time::Duration;

use super::*;
use crate::state::{Pause, StepStatus};

pub(super) fn outcome(succeeded: bool, output: &str) -> ActionOutcome {
    ActionOutcome {
        succeeded,
        exit_code: Some(if succeeded { 0 } else { 1 }),
        output: output.into(),
        duration: Duration::from_millis(30),
        error: None,
        started: true,
    }
}

/// The arguments of the program the transition asks to run.
pub(super) fn ran(t: &Transition) -> Vec<String> {
    let runs: Vec<&Plan> = t
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Run { plan, .. } => Some(plan),
            _ => None,
        })
        .collect();
    assert_eq!(runs.len(), 1, "{:?}", t.effects);
    match runs[0] {
        Plan::Program { args, .. } => args.clone(),
        other => panic!("{other:?}"),
    }
}

fn recorded(t: &Transition) -> Vec<(Outcome, String)> {
    t.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Record(r) => Some((r.disposition, r.reason.clone())),
            _ => None,
        })
        .collect()
}

pub(super) fn statuses(s: &Session) -> Vec<(String, StepStatus)> {
    let request = s.conversation.request().expect("a request");
    request
        .runbook
        .iter()
        .flat_map(|r| &r.done)
        .map(|d| (d.name.clone(), d.status))
        .collect()
}

/// Confirmed, and the first three steps run: status, install, probe.
pub(super) fn up_to_the_probe(s: &mut Session, version: &str) -> Transition {
    let t = s.say(
        &format!("blue-green deploy shop {version}"),
        Some("bluegreen_deploy"),
        0,
    );
    assert!(
        t.replies[0]
            .contains("Shall I go ahead? (yes/no)\nSteps: 1 find shop's idle colour · 2 install"),
        "{:?}",
        t.replies
    );
    let t = s.say("yes", None, 1);
    assert_eq!(ran(&t), ["status", "shop"]);
    assert_eq!(
        s.conversation.request().unwrap().run_id().split('/').nth(1),
        Some("1")
    );
    let t = s.feed(
        Input::ActionFinished(&outcome(true, r#"{"live": "blue", "idle": "green"}"#)),
        1,
    );
    assert_eq!(ran(&t), ["install", "shop", "green", version]);
    s.feed(Input::ActionFinished(&outcome(true, "installed")), 1)
}

#[test]
fn a_runbook_runs_its_steps_in_order_feeding_outputs_forward_and_skipping_what_its_condition_rules_out(
) {
    let mut s = Session::new();
    let t = up_to_the_probe(&mut s, "1.5.0");
    assert_eq!(ran(&t), ["health", "shop", "green"]);
    // A quick probe: the question's condition does not hold, so the switch runs.
    let t = s.feed(Input::ActionFinished(&outcome(true, "latency=42ms")), 2);
    assert_eq!(ran(&t), ["switch", "shop", "green"]);
    assert_eq!(
        statuses(&s),
        [
            ("check".into(), StepStatus::Succeeded),
            ("install".into(), StepStatus::Succeeded),
            ("probe".into(), StepStatus::Succeeded),
            ("slow".into(), StepStatus::Skipped),
        ]
    );
    let t = s.feed(Input::ActionFinished(&outcome(true, "switched")), 2);
    assert_eq!(ran(&t), ["health", "shop", "green", "--live"]);
    let t = s.feed(Input::ActionFinished(&outcome(true, "latency=40ms")), 3);
    assert_eq!(
        t.replies,
        ["shop 1.5.0 is live on green (all steps took 0.1s)."]
    );
    assert_eq!(recorded(&t)[0].0, Outcome::Succeeded);
    assert!(matches!(s.conversation.phase, Phase::Idle));
    // The progress message names every step with its mark.
    let whole = t
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Progress { whole, .. } => Some(whole.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(whole, "Blue/green deploy of shop 1.5.0: [1/6] ✔ find shop's idle colour · [2/6] ✔ install 1.5.0 on green · [3/6] ✔ check green's health · [4/6] ↷ ask before switching if green is slow · [5/6] ✔ switch traffic to green · [6/6] ✔ check green is healthy live");
}

#[test]
fn a_question_between_steps_waits_for_the_requester() {
    for (answer, goes_on) in [("yes", true), ("no", false)] {
        let mut s = Session::new();
        up_to_the_probe(&mut s, "1.5.0-slow");
        let t = s.feed(Input::ActionFinished(&outcome(true, "latency=900ms")), 2);
        assert_eq!(
            t.replies,
            ["shop 1.5.0-slow answers in 900 ms on green, slower than 500 ms. Switch traffic to it anyway? (yes/no)"]
        );
        assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
        assert!(matches!(
            s.conversation.phase,
            Phase::RunbookPaused {
                pause: Pause::Question,
                ..
            }
        ));
        // Something else is not taken as an answer.
        let t = s.say("what?", None, 3);
        assert!(
            t.replies[0].starts_with("Please answer yes or no"),
            "{:?}",
            t.replies
        );
        let t = s.say(answer, None, 3);
        if goes_on {
            assert_eq!(ran(&t), ["switch", "shop", "green"]);
        } else {
            assert_eq!(
                t.effects
                    .iter()
                    .filter(|e| matches!(e, Effect::Run { .. }))
                    .count(),
                0
            );
            assert!(
                t.replies.last().unwrap().starts_with(
                    "Stopped after your no; nothing more was run: ✔ find shop's idle colour"
                ),
                "{:?}",
                t.replies
            );
            assert_eq!(recorded(&t)[0].0, Outcome::Cancelled);
            assert!(matches!(s.conversation.phase, Phase::Idle));
        }
    }
}

#[test]
fn a_failed_step_that_rolls_back_runs_the_rollback_steps_with_the_values_read_before() {
    let mut s = Session::new();
    up_to_the_probe(&mut s, "1.5.0-broken");
    s.feed(Input::ActionFinished(&outcome(true, "latency=42ms")), 2);
    s.feed(Input::ActionFinished(&outcome(true, "switched")), 2);
    let t = s.feed(
        Input::ActionFinished(&outcome(false, "answers with errors")),
        3,
    );
    assert_eq!(ran(&t), ["switch", "shop", "blue"]);
    let t = s.feed(Input::ActionFinished(&outcome(true, "switched back")), 3);
    assert_eq!(
        t.replies,
        ["The blue/green deploy of shop 1.5.0-broken stopped: Check green is healthy live failed: answers with errors\nRolled back: ✔ switch traffic back to blue."]
    );
    assert_eq!(recorded(&t)[0].0, Outcome::Failed);
}

#[test]
fn a_step_whose_output_lacks_a_declared_value_fails_and_nothing_goes_on_with_a_guess() {
    let mut s = Session::new();
    s.say("blue-green deploy shop 1.5.0", Some("bluegreen_deploy"), 0);
    s.say("yes", None, 1);
    let t = s.feed(Input::ActionFinished(&outcome(true, "all fine")), 1);
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    assert_eq!(
        t.replies,
        ["The blue/green deploy of shop 1.5.0 stopped: Find shop's idle colour failed: its output gave no idle and live: all fine"]
    );
    // No step that switched traffic ran, so the rollback's condition kept it out.
    assert!(matches!(s.conversation.phase, Phase::Idle));
}

#[test]
fn a_restart_mid_step_pauses_the_runbook_and_the_requester_decides() {
    for (answer, next) in [
        ("retry", Some(vec!["install", "shop", "green", "1.5.0"])),
        ("skip", Some(vec!["health", "shop", "green"])),
        ("abort", None),
    ] {
        let mut s = Session::new();
        s.say("blue-green deploy shop 1.5.0", Some("bluegreen_deploy"), 0);
        s.say("yes", None, 1);
        s.feed(
            Input::ActionFinished(&outcome(true, r#"{"live": "blue", "idle": "green"}"#)),
            1,
        );
        let t = s.feed(Input::Interrupted { started: true }, 2);
        assert!(
            t.replies[0].contains("ran the step “install 1.5.0 on green”, so I do not know whether that step finished"),
            "{:?}",
            t.replies
        );
        assert_eq!(recorded(&t)[0].0, Outcome::OutcomeUnknown);
        assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
        // Anything else asks again; nothing runs on its own.
        let t = s.say("hmm", None, 3);
        assert!(t.replies[0].contains("Say “retry”"), "{:?}", t.replies);
        assert!(t.effects.is_empty(), "{:?}", t.effects);
        let t = s.say(answer, None, 3);
        match next {
            Some(args) => assert_eq!(ran(&t), args, "{answer}"),
            None => {
                // The switch never ran, so the rollback has nothing to undo.
                assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
                assert!(
                    t.replies
                        .last()
                        .unwrap()
                        .starts_with("Stopped as you asked"),
                    "{:?}",
                    t.replies
                );
                assert!(matches!(s.conversation.phase, Phase::Idle));
            }
        }
    }
}

#[test]
fn a_paused_runbook_that_waits_too_long_stops_where_it_is() {
    let mut s = Session::new();
    up_to_the_probe(&mut s, "1.5.0-slow");
    s.feed(Input::ActionFinished(&outcome(true, "latency=900ms")), 2);
    let t = s.say("yes", None, 59);
    assert!(
        t.replies[0].starts_with("Your runbook to deploy a version of an app blue/green"),
        "{:?}",
        t.replies
    );
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    assert_eq!(recorded(&t)[0].0, Outcome::Expired);
    assert!(matches!(s.conversation.phase, Phase::Idle));
}

#[test]
fn a_dry_run_shows_every_step_and_runs_nothing() {
    let mut s = Session::new();
    let u = understood(
        &s.project,
        "blue-green deploy shop 1.5.0",
        Some("bluegreen_deploy"),
    );
    let mut ctx = Context::new("alice", "ops", at(0));
    ctx.dry_run = true;
    let t = step(&s.project, s.conversation.clone(), Input::Message(&u), &ctx);
    s.conversation = t.conversation;
    let u = understood(&s.project, "yes", None);
    let t = step(&s.project, s.conversation.clone(), Input::Message(&u), &ctx);
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    let text = &t.replies[0];
    assert!(text.starts_with("Dry run, nothing was run."), "{text}");
    assert!(
        text.contains("1. find shop's idle colour: run actions/bluegreen.sh status shop"),
        "{text}"
    );
    assert!(
        text.contains("(needs steps.check.idle when it runs; timeout 1m)"),
        "{text}"
    );
    assert!(text.contains("only if steps.probe.latency > 500"), "{text}");
    assert!(
        text.contains("and to roll back:\n1. switch traffic back to {steps.check.live}"),
        "{text}"
    );
    assert!(
        text.ends_with("with the environment OPSBOT_SLOT_APP=shop OPSBOT_SLOT_VERSION=1.5.0 OPSBOT_USER=alice OPSBOT_ROOM=ops OPSBOT_DIALOG=bluegreen_deploy and OPSBOT_STEP, the step's name."),
        "{text}"
    );
}

#[test]
fn a_step_that_had_not_started_at_a_restart_runs_on_a_yes_and_a_skipped_value_is_never_run_empty() {
    let mut s = Session::new();
    s.say("blue-green deploy shop 1.5.0", Some("bluegreen_deploy"), 0);
    s.say("yes", None, 1);
    let t = s.feed(Input::Interrupted { started: false }, 2);
    assert!(t.replies[0].contains("it did not start"), "{:?}", t.replies);
    assert!(
        recorded(&t).is_empty(),
        "nothing ran, so no outcome is unknown"
    );
    let t = s.say("yes", None, 3);
    assert_eq!(ran(&t), ["status", "shop"]);

    // Skipping the step whose output later steps need: they do not run
    // with the value left empty.
    let mut s = Session::new();
    s.say("blue-green deploy shop 1.5.0", Some("bluegreen_deploy"), 0);
    s.say("yes", None, 1);
    s.feed(Input::Interrupted { started: true }, 2);
    let t = s.say("skip", None, 3);
    assert!(
        t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })),
        "{:?}",
        t.effects
    );
    assert_eq!(
        t.replies.last().unwrap(),
        "The blue/green deploy of shop 1.5.0 stopped: Install 1.5.0 on {steps.check.idle} failed: it needs steps.check.idle, which no earlier step gave"
    );
}
