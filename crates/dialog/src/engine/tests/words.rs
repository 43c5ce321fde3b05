//! Every word accounted for (issue 25): parts of a message no slot took are
//! named back, negations never start a change, and another request never
//! fills the pending one. The example bot, hand-made understandings.

use super::*;

#[test]
fn a_time_no_slot_takes_is_named_before_the_confirmation() {
    let mut s = Session::new();
    let t = s.say(
        "restart apache on web-04 at 21:00",
        Some("restart_service"),
        0,
    );
    assert_eq!(t.replies.len(), 1, "{:?}", t.replies);
    let reply = &t.replies[0];
    assert!(
        reply.starts_with(
            "I did not use “at 21:00”: I cannot restart a service on a host at a given time, only now — a yes does it now"
        ) && reply.ends_with("(yes/no)"),
        "{reply}"
    );
    assert!(matches!(
        s.conversation.phase,
        Phase::AwaitingConfirmation { .. }
    ));
    // Without the time, the plain confirmation as before.
    let mut s = Session::new();
    let t = s.say("restart apache on web-04", Some("restart_service"), 0);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-04. Shall I go ahead? (yes/no)"]
    );
}

#[test]
fn a_time_a_schedulable_change_takes_is_its_schedule() {
    let mut s = Session::new();
    let t = s.say("deploy shop 1.2 to staging at 21:00", Some("deploy_app"), 0);
    assert_eq!(
        t.replies,
        ["“at 21:00” is Tue 24 Nov 2026 21:00 UTC (in 11 hours), so this waits until then: I will deploy shop 1.2 to staging. Shall I go ahead and schedule it for then? (yes/no)"]
    );
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("{:?}", s.conversation.phase);
    };
    assert_eq!(
        request.at,
        Some(Utc.with_ymd_and_hms(2026, 11, 24, 21, 0, 0).unwrap())
    );
    // A read-only request runs as things are now: the time is named back.
    let mut s = Session::new();
    let t = s.say(
        "who is on call for payments at 21:00",
        Some("who_is_on_call"),
        0,
    );
    assert!(
        t.replies[0].starts_with("I did not use “at 21:00”"),
        "{:?}",
        t.replies
    );
}

/// A past time on a change that could wait is refused as past: neither
/// then nor now was asked for, so nothing is kept or run.
#[test]
fn a_past_time_on_a_schedulable_change_is_refused_as_past() {
    let mut s = Session::new();
    let t = s.say(
        "deploy shop 1.2 to staging yesterday at 3pm",
        Some("deploy_app"),
        0,
    );
    assert_eq!(
        t.replies,
        ["“yesterday at 3pm” is in the past (Mon 23 Nov 2026 15:00 UTC, 19 hours ago), so I did nothing. To deploy a version of an app to an environment at a time still to come, say it again with that time; without a time, I ask before doing it now."]
    );
    assert_eq!(s.conversation.phase, Phase::Idle);
    assert!(t.effects.is_empty(), "{:?}", t.effects);
}

#[test]
fn a_negated_change_never_starts() {
    for (text, intent) in [
        ("please do not roll back shop in production", "rollback_app"),
        ("don't restart apache on web-04", "restart_service"),
        ("no need to deploy shop 2.1 to production", "deploy_app"),
    ] {
        let mut s = Session::new();
        let t = s.say(text, Some(intent), 0);
        assert_eq!(s.conversation.phase, Phase::Idle, "{text}: {:?}", t.replies);
        assert!(t.effects.is_empty(), "{text}");
        assert!(
            t.replies[0].contains("so I did not start anything"),
            "{text}: {:?}",
            t.replies
        );
    }
}

#[test]
fn an_unknown_two_letter_value_is_named_not_skipped() {
    let s = Session::new();
    let mut u = understood(&s.project, "deploy shop 2.1 to eu", Some("deploy_app"));
    u.unknown = vec!["eu".into()];
    let ctx = Context::new("alice", "ops", at(0));
    let t = step(&s.project, s.conversation.clone(), Input::Message(&u), &ctx);
    assert!(
        t.replies.iter().any(|r| r.contains("“eu” is not")),
        "{:?}",
        t.replies
    );
    // The values the entity's description lists are said once (part 4).
    assert!(
        t.replies.iter().all(|r| !r.contains("I know")),
        "{:?}",
        t.replies
    );
}

#[test]
fn a_name_near_a_listed_one_is_named_not_read_as_it() {
    // "prod-eu" is not production: the environment is asked, naming it.
    let mut s = Session::new();
    let t = s.say("deploy shop 2.1 to prod-eu", Some("deploy_app"), 0);
    let Phase::Collecting { request, asking } = &s.conversation.phase else {
        panic!("asks: {:?}", t.replies);
    };
    assert_eq!(asking, "environment");
    assert!(!request.slots.contains_key("environment"));
    assert!(
        t.replies
            .last()
            .unwrap()
            .starts_with("I did not use “to prod-eu”"),
        "{:?}",
        t.replies
    );
}

#[test]
fn a_sign_or_decimals_are_never_dropped_from_a_number() {
    for text in [
        "extend acme's trial by -2 days",
        "extend acme's trial by 2.5 days",
    ] {
        let mut s = Session::new();
        let t = s.say(text, Some("extend_trial"), 0);
        let request = s.conversation.request().expect("a request");
        assert!(!request.slots.contains_key("days"), "{text}: {request:?}");
        assert!(
            !matches!(s.conversation.phase, Phase::AwaitingConfirmation { .. }),
            "{text}"
        );
        let said = t.replies.join(" ");
        let number = if text.contains("-2") { "-2" } else { "2.5" };
        assert!(said.contains(number), "{text}: {said}");
    }
}

/// Steps the session with a hand-made understanding.
fn tell(s: &mut Session, u: &Understanding, minute: u32) -> Transition {
    let ctx = Context::new("alice", "ops", at(minute));
    let t = step(&s.project, s.conversation.clone(), Input::Message(u), &ctx);
    s.conversation = t.conversation.clone();
    t
}

#[test]
fn a_near_miss_while_a_question_is_open_fills_nothing() {
    let mut s = Session::new();
    s.say("restart please", Some("restart_service"), 0);
    let mut u = understood(&s.project, "upgrade the kernel on web-01", None);
    u.unserved = Some("upgrade".into());
    let t = tell(&mut s, &u, 1);
    let Phase::Collecting { request, asking } = &s.conversation.phase else {
        panic!("still asking: {:?}", t.replies);
    };
    assert_eq!(asking, "service");
    assert!(!request.slots.contains_key("host"), "{request:?}");
    assert!(
        t.replies[0].contains("I cannot “upgrade” anything"),
        "{:?}",
        t.replies
    );
    // Read as nothing at all (no request word judged), its host is still not
    // taken: its other words are no part of a restart.
    let t = s.say("upgrade the kernel on web-01", None, 2);
    let request = s.conversation.request().expect("still asking");
    assert!(!request.slots.contains_key("host"), "{:?}", t.replies);
    assert!(
        t.replies[0].contains("“upgrade” and “kernel” are no part of a request to restart"),
        "{:?}",
        t.replies
    );
}

#[test]
fn a_question_is_not_an_answer() {
    let mut s = Session::new();
    s.say("restart on web-01", Some("restart_service"), 0);
    let t = s.say("should I restart nginx?", Some("restart_service"), 1);
    let Phase::Collecting { request, asking } = &s.conversation.phase else {
        panic!("still asking: {:?}", t.replies);
    };
    assert_eq!(asking, "service");
    assert!(!request.slots.contains_key("service"), "{request:?}");
    assert!(
        t.replies[0].contains("reads as a question"),
        "{:?}",
        t.replies
    );
}

#[test]
fn another_request_while_a_question_is_open_switches_announced() {
    let mut s = Session::new();
    s.say("deploy shop 2.1", Some("deploy_app"), 0);
    let t = s.say("roll back shop in staging", Some("rollback_app"), 1);
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("confirms the rollback: {:?}", t.replies);
    };
    assert_eq!(request.dialog, "rollback_app");
    assert!(
        t.replies[0].starts_with("Okay, I dropped your request to deploy"),
        "{:?}",
        t.replies
    );
    assert!(t.effects.iter().any(|e| matches!(
        e,
        Effect::Record(Record { disposition: Outcome::Cancelled, request, .. }) if request.dialog == "deploy_app"
    )));
}

#[test]
fn another_request_at_a_confirmation_never_edits_the_pending_one() {
    // Sure of the other request: the pending one is dropped, announced.
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let t = s.say(
        "silence alerts for web-03 for 20 minutes",
        Some("silence_alerts"),
        1,
    );
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("confirms the silence: {:?}", t.replies);
    };
    assert_eq!(request.dialog, "silence_alerts");
    assert!(
        t.replies
            .iter()
            .all(|r| !r.contains("restart apache on web-03")),
        "{:?}",
        t.replies
    );
    // Unsure: the pending request is kept as it was, and the message named.
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let mut u = understood(&s.project, "silence alerts for web-03 for 20 minutes", None);
    u.intent = Some(IntentGuess {
        name: "silence_alerts".into(),
        confidence: 0.55,
    });
    let t = tell(&mut s, &u, 1);
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("still confirming: {:?}", t.replies);
    };
    assert_eq!(request.dialog, "restart_service");
    assert_eq!(request.slots["host"].value, "web-01", "{:?}", t.replies);
    assert!(
        t.replies[0].contains("reads like a request to silence"),
        "{:?}",
        t.replies
    );
    // A correction is still a correction.
    let t = s.say("no, on web-02", None, 2);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-02. Shall I go ahead? (yes/no)"]
    );
}

#[test]
fn why_explains_the_latest_decision_not_an_older_refusal() {
    let mut s = Session::new();
    s.say("blorp the flux", None, 0);
    s.say("restart apache on web-04", Some("restart_service"), 1);
    let t = s.say("why?", None, 2);
    assert!(
        t.replies.iter().all(|r| !r.contains("blorp")),
        "{:?}",
        t.replies
    );
    // The latest decision's own reason is still given.
    let mut s = Session::new();
    s.say(
        "who is on call for payments at 21:00",
        Some("who_is_on_call"),
        0,
    );
    let t = s.say("why?", None, 1);
    assert!(t.replies[0].contains("“at 21:00”"), "{:?}", t.replies);
}

#[test]
fn the_first_one_picks_from_the_list_a_refusal_showed() {
    // Part 4: the environment's description lists its values; "the first
    // one" is the first of them as shown, not of some other order.
    let mut s = Session::new();
    let mut u = understood(&s.project, "deploy shop 2.1 to eu", Some("deploy_app"));
    u.unknown = vec!["eu".into()];
    let t = tell(&mut s, &u, 0);
    assert!(
        t.replies[0].contains("(production, staging, qa or development)"),
        "{:?}",
        t.replies
    );
    s.say("the first one", None, 1);
    let request = s.conversation.request().expect("confirming");
    assert_eq!(request.slots["environment"].value, "production");
    // The same after an answer that was refused.
    let mut s = Session::new();
    s.say("deploy shop 2.1", Some("deploy_app"), 0);
    s.say("banana", None, 1);
    s.say("2", None, 2);
    let request = s.conversation.request().expect("confirming");
    assert_eq!(request.slots["environment"].value, "staging");
}

#[test]
fn a_negation_while_a_request_is_open_changes_nothing() {
    // Asking: "don't restart nginx" is no answer naming nginx.
    let mut s = Session::new();
    s.say("restart on web-01", Some("restart_service"), 0);
    let t = s.say("don't restart nginx", Some("restart_service"), 1);
    let request = s.conversation.request().expect("still asking");
    assert!(!request.slots.contains_key("service"), "{:?}", t.replies);
    assert!(t.replies[0].contains("says “don't”"), "{:?}", t.replies);
    // Confirming: "do not restart it on web-02" is no correction.
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let t = s.say("do not restart it on web-02", Some("restart_service"), 1);
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("still confirming: {:?}", t.replies);
    };
    assert_eq!(request.slots["host"].value, "web-01", "{:?}", t.replies);
    assert!(t.effects.is_empty());
}

#[test]
fn a_negated_value_is_never_used() {
    // Asked for the host, "not on web-01" is not web-01.
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    let t = s.say("not on web-01", None, 1);
    let request = s.conversation.request().expect("still asking");
    assert!(!request.slots.contains_key("host"), "{:?}", t.replies);
    // "never to production" never confirms production.
    let mut s = Session::new();
    let t = s.say(
        "deploy shop 2.1, never to production",
        Some("deploy_app"),
        0,
    );
    assert_eq!(s.conversation.phase, Phase::Idle, "{:?}", t.replies);
}

/// A read-only question while a change waits is answered and the change kept:
/// once the answer is in, the change's confirmation (or question) comes back.
#[test]
fn a_read_only_question_while_a_change_waits_keeps_the_change() {
    let done = ActionOutcome {
        succeeded: true,
        exit_code: Some(0),
        output: "ana is on call".into(),
        duration: Duration::ZERO,
        error: None,
        started: true,
    };
    // At the confirmation.
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let t = s.say("who is on call for database", Some("who_is_on_call"), 1);
    assert!(
        matches!(&s.conversation.phase, Phase::Executing { request } if request.dialog == "who_is_on_call"),
        "{:?}",
        t.replies
    );
    assert!(s.conversation.parked.is_some(), "the restart is kept aside");
    assert!(
        !t.replies.iter().any(|r| r.contains("dropped")),
        "{:?}",
        t.replies
    );
    let t = s.feed(Input::ActionFinished(&done), 1);
    assert!(t.replies[0].contains("ana is on call"), "{:?}", t.replies);
    assert_eq!(
        t.replies.last().unwrap(),
        "Back to your request, which is still waiting: I will restart apache on web-01. Shall I go ahead? (yes/no)"
    );
    assert!(matches!(
        s.conversation.phase,
        Phase::AwaitingConfirmation { .. }
    ));
    assert!(s.conversation.parked.is_none());
    let t = s.say("yes", None, 2);
    assert!(
        matches!(&s.conversation.phase, Phase::Executing { request } if request.dialog == "restart_service"),
        "{:?}",
        t.replies
    );

    // While a question is open.
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    assert!(matches!(s.conversation.phase, Phase::Collecting { .. }));
    s.say("who is on call for database", Some("who_is_on_call"), 1);
    let t = s.feed(Input::ActionFinished(&done), 1);
    assert!(
        matches!(&s.conversation.phase, Phase::Collecting { request, .. } if request.dialog == "restart_service"),
        "{:?}",
        t.replies
    );
    assert!(
        t.replies
            .last()
            .unwrap()
            .starts_with("Back to your request, which is still waiting: "),
        "{:?}",
        t.replies
    );
}

/// The digits of a time or a duration the request has no slot for belong to
/// that time ("tomorrow at 9", "for 2 hours"), never to a number slot; the
/// dialog's own wording around a number ("by 14 days") still gives it.
#[test]
fn the_digits_of_a_time_never_fill_a_number_slot() {
    let mut s = Session::new();
    let t = s.say("extend acme's trial by 14 days", Some("extend_trial"), 0);
    assert_eq!(t.replies.len(), 1, "{:?}", t.replies);
    assert!(t.replies[0].contains("14"), "{:?}", t.replies);
    assert!(!t.replies[0].contains("did not use"), "{:?}", t.replies);

    for (said, time) in [
        (
            "extend acme's trial by 14 days tomorrow at 9",
            "tomorrow at 9",
        ),
        ("extend acme's trial by 14 days for 2 hours", "2 hours"),
    ] {
        let mut s = Session::new();
        let t = s.say(said, Some("extend_trial"), 0);
        let all = t.replies.join(" ");
        assert!(all.contains(time), "{said}: {all}");
        assert!(!all.contains("named 14 and"), "{said}: {all}");
        let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
            panic!("{said}: {all}");
        };
        assert_eq!(request.slots["days"].value, "14", "{said}");
    }
}

/// A word after a number that the request's examples never say there ("14
/// fortnights") is named back, so "yes" never runs 14 of something else.
#[test]
fn an_unknown_unit_after_a_number_is_named() {
    let mut s = Session::new();
    let t = s.say(
        "extend acme's trial by 14 fortnights",
        Some("extend_trial"),
        0,
    );
    let all = t.replies.join(" ");
    assert!(all.contains("I did not use “fortnights”"), "{all}");
    let mut s = Session::new();
    let t = s.say(
        "extend acme's trial by 14 days please",
        Some("extend_trial"),
        0,
    );
    assert!(
        !t.replies.join(" ").contains("did not use"),
        "{:?}",
        t.replies
    );
}

/// "no, on web-03" at a confirmation is a correction even when the request
/// word rule named "no"; a message read as the pending request itself, yet
/// holding words of something else ("upgrade the kernel on web-01"), fills
/// nothing.
#[test]
fn a_correction_is_a_correction_and_a_near_miss_read_as_this_request_fills_nothing() {
    let mut s = Session::new();
    s.say("restart nginx on web-01", Some("restart_service"), 0);
    let mut u = understood(&s.project, "no, on web-03", None);
    u.unserved = Some("no".into());
    let t = s.feed(Input::Message(&u), 1);
    assert_eq!(
        t.replies,
        ["I will restart nginx on web-03. Shall I go ahead? (yes/no)"]
    );

    let mut s = Session::new();
    s.say("restart it", Some("restart_service"), 0);
    let t = s.say("upgrade the kernel on web-01", Some("restart_service"), 1);
    let Phase::Collecting { request, .. } = &s.conversation.phase else {
        panic!("{:?}", t.replies);
    };
    assert!(!request.slots.contains_key("host"), "{:?}", t.replies);
    assert!(
        t.replies[0].contains("“upgrade the kernel on web-01”"),
        "{:?}",
        t.replies
    );
}

/// A typo match that comes out as the value already taken is another name,
/// named back, never merged into it ("pg-main-9" beside "pg-main").
#[test]
fn a_guess_that_repeats_a_taken_value_is_named_not_merged() {
    let mut s = Session::new();
    let mut u = understood(
        &s.project,
        "restart apache on web-01 and apache_2",
        Some("restart_service"),
    );
    let start = u.text.find("apache_2").unwrap();
    u.entities.push(opsbot_spec::EntityMatch {
        entity: "service".into(),
        start,
        end: start + "apache_2".len(),
        surface: "apache_2".into(),
        value: "apache".into(),
        source: opsbot_spec::MatchSource::Fuzzy,
        confidence: 0.8,
    });
    let ctx = Context::new("alice", "ops", at(0));
    let t = step(&s.project, s.conversation.clone(), Input::Message(&u), &ctx);
    s.conversation = t.conversation.clone();
    let all = t.replies.join(" ");
    assert!(all.contains("“apache_2”"), "{all}");
}

/// A value for another slot given while one is asked replaces the earlier
/// one only out loud.
#[test]
fn a_value_changed_while_another_is_asked_is_said() {
    let mut s = Session::new();
    s.say("deploy shop to staging", Some("deploy_app"), 0);
    assert!(matches!(s.conversation.phase, Phase::Collecting { .. }));
    let t = s.say("production", None, 1);
    let all = t.replies.join(" ");
    assert!(
        all.contains("I changed the environment from staging to production."),
        "{all}"
    );
}

/// A whole new request of the same kind at a confirmation replaces the
/// pending one out loud; a one-value correction is just a correction.
#[test]
fn a_new_request_of_the_same_kind_at_a_confirmation_says_it_replaces_the_old() {
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let t = s.say("restart nginx on web-02", Some("restart_service"), 1);
    assert_eq!(t.replies.len(), 1, "{:?}", t.replies);
    assert!(
        t.replies[0].starts_with("Okay, this replaces your request to restart a service on a host (service=apache, host=web-01); nothing was run.")
            && t.replies[0].ends_with("I will restart nginx on web-02. Shall I go ahead? (yes/no)"),
        "{:?}",
        t.replies
    );
    let t = s.say("no, on web-03", None, 2);
    assert_eq!(
        t.replies,
        ["I will restart nginx on web-03. Shall I go ahead? (yes/no)"]
    );
}

/// A whole new request at a dry run's confirmation is a new request: a dry
/// run only if its own message says so (the confirmation it gets does not
/// say "dry run", so a yes must run it).
#[test]
fn a_new_request_replacing_a_dry_run_is_not_a_dry_run() {
    let mut s = Session::new();
    let u = understood(&s.project, "deploy shop 1.2 to staging", Some("deploy_app"));
    let mut dry = Context::new("alice", "ops", at(0));
    dry.dry_run = true;
    s.conversation =
        step(&s.project, s.conversation.clone(), Input::Message(&u), &dry).conversation;
    let t = s.say("deploy billing 3.1 to qa", Some("deploy_app"), 1);
    assert!(
        t.replies[0].starts_with("Okay, this replaces your request"),
        "{:?}",
        t.replies
    );
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("{:?}", s.conversation.phase);
    };
    assert!(!request.dry_run);
    let t = s.say("yes", None, 2);
    assert!(
        t.effects.iter().any(|e| matches!(e, Effect::Run { .. })),
        "{:?} {:?}",
        t.replies,
        t.effects
    );
}
