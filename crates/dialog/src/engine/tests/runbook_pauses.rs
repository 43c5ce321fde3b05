//! Runbooks in the engine (issue 27), continued: a wait and an `until:`
//! retry kept as scheduled work, an abort while waiting, a step approval.

use std::time::Duration;

use super::runbook::{outcome, ran, statuses, up_to_the_probe};
use super::*;
use crate::state::{Pause, StepStatus};

/// The example's runbook with a two-minute wait after the switch and its
/// live check tried every minute for three minutes.
fn with_wait_and_until(s: &mut Session) {
    use opsbot_spec::{Action, OnFailure, RunbookStep, StepKind, Template, Until};
    let dialog = s.project.dialogs.get_mut("bluegreen_deploy").unwrap();
    let Behaviour::Run {
        action: Action::Runbook(runbook),
        ..
    } = &mut dialog.behaviour
    else {
        panic!("the example's runbook");
    };
    runbook.steps.insert(
        5,
        RunbookStep {
            name: "settle".into(),
            description: Template::parse("let traffic settle").unwrap(),
            does: StepKind::Wait(Duration::from_secs(120)),
            when: None,
            outputs: Vec::new(),
            on_failure: OnFailure::Stop,
            until: None,
            approval: None,
        },
    );
    runbook.steps[6].until = Some(Until {
        every: Duration::from_secs(60),
        within: Duration::from_secs(180),
    });
}

fn scheduled(t: &Transition) -> Option<Request> {
    t.effects.iter().find_map(|e| match e {
        Effect::Schedule(r) => Some(r.clone()),
        _ => None,
    })
}

/// Up to the switch's success: the run now waits.
fn up_to_the_wait(s: &mut Session) -> Transition {
    with_wait_and_until(s);
    up_to_the_probe(s, "1.5.0");
    s.feed(Input::ActionFinished(&outcome(true, "latency=42ms")), 2);
    s.feed(Input::ActionFinished(&outcome(true, "switched")), 2)
}

#[test]
fn a_wait_is_kept_as_scheduled_work_and_the_run_goes_on_when_it_is_due() {
    let mut s = Session::new();
    let t = up_to_the_wait(&mut s);
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    let due = scheduled(&t).expect("the wait is scheduled");
    assert_eq!(due.at, Some(at(4)));
    assert!(matches!(
        s.conversation.phase,
        Phase::RunbookPaused { pause: Pause::Waiting { until }, .. } if until == at(4)
    ));
    // Writing meanwhile: told when it goes on; the wait never expires.
    let t = s.say("how far is it?", None, 3);
    assert!(t.replies[0].contains("waits until"), "{:?}", t.replies);
    let t = s.feed(Input::Due(&due), 4);
    assert!(t
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Unschedule(id) if *id == due.id)));
    assert_eq!(ran(&t), ["health", "shop", "green", "--live"]);
    assert_eq!(
        statuses(&s).last().unwrap(),
        &("settle".to_string(), StepStatus::Succeeded)
    );
}

#[test]
fn an_until_step_tries_again_until_it_succeeds_or_its_time_is_up() {
    // It succeeds on the second try.
    let mut s = Session::new();
    let due = scheduled(&up_to_the_wait(&mut s)).unwrap();
    s.feed(Input::Due(&due), 4);
    let t = s.feed(Input::ActionFinished(&outcome(false, "502 from green")), 4);
    let again = scheduled(&t).expect("a second try is scheduled");
    assert_eq!(again.at, Some(at(5)));
    let t = s.feed(Input::Due(&again), 5);
    assert_eq!(ran(&t), ["health", "shop", "green", "--live"]);
    let t = s.feed(Input::ActionFinished(&outcome(true, "latency=40ms")), 5);
    assert!(
        t.replies
            .last()
            .unwrap()
            .starts_with("shop 1.5.0 is live on green"),
        "{:?}",
        t.replies
    );

    // It never succeeds: four tries in three minutes, then the rollback.
    let mut s = Session::new();
    let mut due = scheduled(&up_to_the_wait(&mut s)).unwrap();
    let mut minute = 4;
    let mut tries = 0;
    let last = loop {
        let t = s.feed(Input::Due(&due), minute);
        assert_eq!(ran(&t), ["health", "shop", "green", "--live"]);
        tries += 1;
        let t = s.feed(
            Input::ActionFinished(&outcome(false, "502 from green")),
            minute,
        );
        match scheduled(&t) {
            Some(next) => due = next,
            None => break t,
        }
        minute += 1;
    };
    assert_eq!(tries, 4);
    assert_eq!(ran(&last), ["switch", "shop", "blue"]);
    let t = s.feed(
        Input::ActionFinished(&outcome(true, "switched back")),
        minute,
    );
    assert!(
        t.replies.last().unwrap().contains("failed: it did not succeed within 3m (4 tries): 502 from green\nRolled back: ✔ switch traffic back to blue."),
        "{:?}",
        t.replies
    );
}

#[test]
fn an_abort_during_a_wait_drops_it_and_rolls_back() {
    let mut s = Session::new();
    let due = scheduled(&up_to_the_wait(&mut s)).unwrap();
    let t = s.say("abort", None, 3);
    assert!(t
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Unschedule(id) if *id == due.id)));
    assert_eq!(ran(&t), ["switch", "shop", "blue"]);
    let t = s.feed(Input::ActionFinished(&outcome(true, "switched back")), 3);
    assert!(
        t.replies
            .last()
            .unwrap()
            .starts_with("Stopped as you asked"),
        "{:?}",
        t.replies
    );
    // The wait's job, had it fired anyway, finds nothing waiting.
    let t = s.feed(Input::Due(&due), 4);
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    assert!(matches!(s.conversation.phase, Phase::Idle));
}

#[test]
fn a_step_that_needs_approval_waits_for_another_member_and_shows_what_it_runs() {
    let mut s = Session::new();
    {
        use opsbot_spec::{Action, Approval};
        let dialog = s.project.dialogs.get_mut("bluegreen_deploy").unwrap();
        let Behaviour::Run {
            action: Action::Runbook(runbook),
            ..
        } = &mut dialog.behaviour
        else {
            panic!("the example's runbook");
        };
        runbook.steps[4].approval = Some(Approval {
            groups: ["release-managers".to_string()].into(),
            when: Default::default(),
        });
    }
    up_to_the_probe(&mut s, "1.5.0");
    let t = s.feed(Input::ActionFinished(&outcome(true, "latency=42ms")), 2);
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    assert!(
        t.replies[0].ends_with("a member of release-managers other than alice must say “approve ")
            || t.replies[0].contains("It runs: actions/bluegreen.sh switch shop green"),
        "{:?}",
        t.replies
    );
    let approve = |s: &mut Session, approver: &str, yes: bool| {
        s.feed(
            Input::Approval {
                approver,
                approve: yes,
            },
            3,
        )
    };
    // Not the requester, not someone outside the group.
    let t = approve(&mut s, "alice", true);
    assert!(t.replies[0].starts_with("You cannot approve a step of your own runbook"));
    let t = approve(&mut s, "bob", true);
    assert!(t.replies[0].starts_with("bob is not a member of release-managers"));
    let t = approve(&mut s, "dave", true);
    assert_eq!(ran(&t), ["switch", "shop", "green"]);
    let t = s.feed(Input::ActionFinished(&outcome(true, "switched")), 3);
    assert_eq!(ran(&t), ["health", "shop", "green", "--live"]);
    let t = s.feed(Input::ActionFinished(&outcome(true, "latency=40ms")), 3);
    let whole = t
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Progress { whole, .. } => Some(whole.clone()),
            _ => None,
        })
        .unwrap();
    assert!(whole.contains("[5/6] ✔ switch traffic to green"), "{whole}");
}

#[test]
fn a_run_whose_lock_another_run_holds_does_not_start() {
    let mut s = Session::new();
    s.say("blue-green deploy shop 1.5.0", Some("bluegreen_deploy"), 0);
    let t = s.say("yes", None, 1);
    assert_eq!(ran(&t), ["status", "shop"]);
    // The store refused the step that started it: the engine says why and
    // keeps nothing running.
    let t = s.feed(
        Input::Locked {
            lock: "app shop",
            holder: "bob",
        },
        1,
    );
    assert!(
        t.replies[0].starts_with("I did not start your runbook to deploy a version of an app blue/green")
            && t.replies[0].contains(": bob's run holds “app shop”, and two runs on “app shop” never interleave; nothing was run."),
        "{:?}",
        t.replies
    );
    assert!(t.effects.iter().all(|e| !matches!(e, Effect::Run { .. })));
    assert!(matches!(s.conversation.phase, Phase::Idle));
    let t = s.say("why?", None, 2);
    assert!(
        t.replies[0].contains("bob's run holds “app shop”"),
        "{:?}",
        t.replies
    );
}
