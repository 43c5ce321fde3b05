//! Requests for later in the engine (issue 29): a dialog that may not be
//! scheduled names the time back; a confirmation given after the time never
//! runs it late; a due request runs while another question waits, which
//! comes back after it.

use super::*;

#[test]
fn a_dialog_that_may_not_be_scheduled_names_the_time_back() {
    let mut s = Session::new();
    s.project.dialogs.get_mut("deploy_app").unwrap().schedulable = false;
    let t = s.say("deploy shop 1.2 to staging at 21:00", Some("deploy_app"), 0);
    assert!(
        t.replies[0].starts_with("I did not use “at 21:00”"),
        "{:?}",
        t.replies
    );
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!("{:?}", s.conversation.phase);
    };
    assert_eq!(request.at, None);
}

#[test]
fn a_yes_after_the_time_never_runs_it_late() {
    let mut s = Session::new();
    // 10:00 now; "at 10:03" is three minutes away; the yes comes at 10:04,
    // within the confirmation's five minutes.
    s.say("deploy shop 1.2 to staging at 10:03", Some("deploy_app"), 0);
    let t = s.say("yes", None, 4);
    assert!(
        t.replies[0].starts_with("The time you gave for this has passed"),
        "{:?}",
        t.replies
    );
    assert!(!t
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Run { .. } | Effect::Schedule(_))));
}

#[test]
fn a_due_request_runs_while_a_question_waits_and_the_question_comes_back() {
    let mut s = Session::new();
    s.say("deploy shop 1.2 to staging at 10:30", Some("deploy_app"), 0);
    let t = s.say("yes", None, 1);
    let request = t
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Schedule(request) => Some(request.clone()),
            _ => None,
        })
        .expect("scheduled");
    // Another request waits for its host when the first is due.
    s.say("restart nginx", Some("restart_service"), 20);
    assert!(matches!(s.conversation.phase, Phase::Collecting { .. }));
    let t = s.feed(Input::Due(&request), 30);
    assert!(
        t.replies[0].starts_with("Starting what alice scheduled"),
        "{:?}",
        t.replies
    );
    assert!(t
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Unschedule(id) if *id == request.id)));
    assert!(t.effects.iter().any(|e| matches!(e, Effect::Run { .. })));
    let outcome = ActionOutcome {
        started: true,
        succeeded: true,
        exit_code: Some(0),
        output: String::new(),
        duration: std::time::Duration::from_secs(1),
        error: None,
    };
    let t = s.feed(Input::ActionFinished(&outcome), 31);
    let all = t.replies.join("\n");
    assert!(
        all.contains("nginx"),
        "the waiting question comes back: {all}"
    );
    assert!(matches!(s.conversation.phase, Phase::Collecting { .. }));
}
