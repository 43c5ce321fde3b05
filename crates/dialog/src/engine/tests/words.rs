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
            "I did not use “at 21:00”: I cannot restart a service on a host at a given time yet"
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
