//! A reading in a word no example uses (issue 25, part 3): a change or a
//! lookup is asked about before anything runs or is offered to run; a reply that is a request of its own never answers
//! the older question; an answer goes to the slot that was asked.

use super::*;
use opsbot_nlu::Unsure;

fn unsure(s: &Session, text: &str, intent: &str, word: Option<&str>) -> Understanding {
    let mut u = understood(&s.project, text, Some(intent));
    u.unsure = Some(Unsure {
        word: word.map(str::to_string),
    });
    u
}

#[test]
fn a_new_word_for_a_change_is_asked_about_and_yes_goes_on() {
    let mut s = Session::new();
    let u = unsure(
        &s,
        "bounce apache on web-01",
        "restart_service",
        Some("bounce"),
    );
    let t = s.feed(Input::Message(&u), 0);
    assert_eq!(
        t.replies,
        ["“bounce” is not a word my requests use. I read your message as “I will restart apache on web-01”. Is that what you meant? Say yes or no."]
    );
    assert!(s.conversation.request().is_none(), "nothing started yet");
    let t = s.say("yes", None, 1);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-01. Shall I go ahead? (yes/no)"]
    );
}

#[test]
fn no_to_a_new_word_runs_nothing() {
    let mut s = Session::new();
    let u = unsure(
        &s,
        "something is wrong with apache on web-01",
        "restart_service",
        None,
    );
    let t = s.feed(Input::Message(&u), 0);
    assert!(t.replies[0].starts_with(
        "You did not say what to do. I read your message as “I will restart apache on web-01”."
    ));
    let t = s.say("no", None, 1);
    assert_eq!(t.replies, ["Okay, I did nothing."]);
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    assert!(s.conversation.request().is_none());
}

#[test]
fn a_lookup_in_a_new_word_is_asked_about_too() {
    // "delete the orders topic" must not be answered with a description of it.
    let mut s = Session::new();
    let u = unsure(
        &s,
        "fetch the on-call person for payments",
        "who_is_on_call",
        Some("fetch"),
    );
    let t = s.feed(Input::Message(&u), 0);
    assert_eq!(
        t.replies,
        ["“fetch” is not a word my requests use. Do you mean to tell who is on call for a team? Say yes or no."]
    );
    assert!(t.effects.is_empty(), "{:?}", t.effects);
    let t = s.say("yes", None, 1);
    assert!(
        t.effects.iter().any(|e| matches!(e, Effect::Run { .. })),
        "{:?}",
        t.effects
    );
}

#[test]
fn a_reply_with_values_of_its_own_is_a_new_request_not_the_choice() {
    let mut s = Session::new();
    let mut u = understood(
        &s.project,
        "restart apache on web-01 or deploy shop 1.2 to staging",
        None,
    );
    u.ambiguous = vec![
        IntentGuess {
            name: "restart_service".into(),
            confidence: 0.5,
        },
        IntentGuess {
            name: "deploy_app".into(),
            confidence: 0.4,
        },
    ];
    s.feed(Input::Message(&u), 0);
    let t = s.say("deploy shop 1.3 to production", Some("deploy_app"), 1);
    let all = t.replies.join("\n");
    assert!(!all.contains("1.2"), "{all}");
    let request = s.conversation.request().expect("the reply's own request");
    assert_eq!(request.slots["version"].value, "1.3");
}

#[test]
fn a_follow_up_read_through_a_new_word_as_another_intent_repeats_the_last_request() {
    // "same for web-02" after a restart: the classifier may read another
    // dialog with a host slot through "same", a word no example uses; that
    // reading is not a request of its own, so the restart is repeated,
    // without a note about "same".
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    s.say("yes", None, 0);
    let ok = ActionOutcome {
        succeeded: true,
        exit_code: Some(0),
        output: String::new(),
        duration: std::time::Duration::ZERO,
        error: None,
        started: true,
    };
    s.feed(Input::ActionFinished(&ok), 0);
    let u = unsure(&s, "same for web-02", "silence_alerts", Some("same"));
    let t = s.feed(Input::Message(&u), 1);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-02. Shall I go ahead? (yes/no)"]
    );
}
