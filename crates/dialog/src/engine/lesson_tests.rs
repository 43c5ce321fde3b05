//! Which messages become lessons for the review inbox, and "that's not what
//! I meant".

use super::*;

fn lessons(t: &Transition) -> Vec<&Lesson> {
    t.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Learn(l) => Some(l),
            _ => None,
        })
        .collect()
}

fn ranked(project: &Project, text: &str, ranking: &[(&str, f32)]) -> Understanding {
    let mut u = understood(project, text, Some(ranking[0].0));
    u.intent.as_mut().unwrap().confidence = ranking[0].1;
    u.ranking = ranking
        .iter()
        .map(|(name, confidence)| IntentGuess {
            name: name.to_string(),
            confidence: *confidence,
        })
        .collect();
    u
}

fn say_ranked(s: &mut Session, text: &str, ranking: &[(&str, f32)], minute: u32) -> Transition {
    let u = ranked(&s.project, text, ranking);
    s.feed(Input::Message(&u), minute)
}

#[test]
fn a_message_not_understood_is_a_lesson_without_a_label() {
    let mut s = Session::new();
    let t = s.say("frobnicate the flux", None, 0);
    let found = lessons(&t);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, LessonKind::NotUnderstood);
    assert_eq!(found[0].message.text, "frobnicate the flux");
    assert_eq!(
        (found[0].taken_as.clone(), found[0].chosen.clone()),
        (None, None)
    );
}

#[test]
fn an_unsure_reading_is_a_lesson_and_a_sure_one_is_not() {
    let mut s = Session::new();
    let t = say_ranked(&mut s, "bounce apache", &[("restart_service", 0.41)], 0);
    assert_eq!(lessons(&t)[0].kind, LessonKind::LowConfidence);
    assert_eq!(lessons(&t)[0].taken_as.as_deref(), Some("restart_service"));
    let mut s = Session::new();
    let t = say_ranked(&mut s, "restart apache", &[("restart_service", 0.95)], 0);
    assert!(lessons(&t).is_empty());
}

#[test]
fn the_answer_to_did_you_mean_labels_the_message() {
    let mut s = Session::new();
    s.say_ambiguous("checkout on web-01 again", 0);
    let t = s.say("the second", None, 1);
    let found = lessons(&t);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].kind, LessonKind::Ambiguous);
    assert_eq!(found[0].message.text, "checkout on web-01 again");
    assert_eq!(found[0].chosen.as_deref(), Some("deploy_app"));
    assert_eq!(
        found[0].at,
        at(0),
        "the time of the message, not of the answer"
    );

    let mut s = Session::new();
    s.say_ambiguous("checkout please", 0);
    let t = s.say("none of these", None, 1);
    assert_eq!(
        lessons(&t)[0].chosen.as_deref(),
        Some(opsbot_spec::OUT_OF_SCOPE)
    );
    assert_eq!(s.conversation.phase, Phase::Idle);
}

#[test]
fn a_cancel_at_once_and_the_request_that_follows_are_lessons() {
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let t = s.say("no", None, 1);
    let found = lessons(&t);
    assert_eq!(found[0].kind, LessonKind::Cancelled);
    assert_eq!(found[0].message.text, "restart apache on web-01");
    let first_id = found[0].id.clone();
    // What they asked for next says what the first message meant.
    let t = s.say("deploy shop 1.2 to staging", Some("deploy_app"), 2);
    let found = lessons(&t);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].kind, LessonKind::Corrected);
    assert_eq!(found[0].id, first_id, "the same entry, updated");
    assert_eq!(found[0].suggested.as_deref(), Some("deploy_app"));

    // A cancel after the user answered questions is a change of mind, not a misreading.
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    s.say("web-01", None, 1);
    let t = s.say("no", None, 2);
    assert!(lessons(&t).is_empty(), "{:?}", lessons(&t));
}

#[test]
fn a_request_dropped_at_once_for_another_is_a_correction() {
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    let t = say_ranked(
        &mut s,
        "deploy shop 1.2 to staging",
        &[("deploy_app", 0.9)],
        1,
    );
    let found = lessons(&t);
    assert_eq!(found[0].kind, LessonKind::Corrected, "{found:?}");
    assert_eq!(found[0].message.text, "restart apache");
    assert_eq!(found[0].suggested.as_deref(), Some("deploy_app"));
}

#[test]
fn thats_not_what_i_meant_drops_the_request_and_asks_which_was_meant() {
    let mut s = Session::new();
    say_ranked(
        &mut s,
        "kick shop on staging",
        &[
            ("restart_service", 0.7),
            ("deploy_app", 0.2),
            ("rollback_app", 0.05),
        ],
        0,
    );
    assert!(s.conversation.request().is_some());
    let t = s.say("No, that's not what I meant", None, 1);
    assert_eq!(lessons(&t)[0].kind, LessonKind::Flagged);
    assert!(t.replies[0].contains("Nothing was run"), "{:?}", t.replies);
    assert!(
        t.replies[1]
            .contains("1. deploy a version of an app to an environment\n2. roll an app back"),
        "{:?}",
        t.replies
    );
    assert!(t
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Record(r) if r.disposition == Outcome::Cancelled)));
    let t = s.say("1", None, 2);
    let found = lessons(&t);
    assert_eq!(found[0].kind, LessonKind::Flagged);
    assert_eq!(found[0].chosen.as_deref(), Some("deploy_app"));
    assert_eq!(found[0].message.text, "kick shop on staging");
    // The chosen request starts from the original message.
    assert_eq!(s.conversation.request().unwrap().dialog, "deploy_app");
    assert_eq!(s.conversation.request().unwrap().slots["app"].value, "shop");

    // With nothing read lately there is nothing to correct.
    let mut s = Session::new();
    let t = s.say("that's not what I meant", None, 0);
    assert!(lessons(&t).is_empty());
    assert!(
        t.replies[0].contains("nothing of yours") || t.replies[0].contains("not read anything")
    );

    // "none of these" labels it out of scope.
    let mut s = Session::new();
    say_ranked(
        &mut s,
        "kick shop",
        &[("restart_service", 0.7), ("deploy_app", 0.2)],
        0,
    );
    s.say("wrong", None, 1);
    let t = s.say("none of these", None, 2);
    assert_eq!(
        lessons(&t)[0].chosen.as_deref(),
        Some(opsbot_spec::OUT_OF_SCOPE)
    );
    assert_eq!(s.conversation.phase, Phase::Idle);
}
