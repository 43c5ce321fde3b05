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

/// A new time given at the confirmation moves the request ("no, make it
/// 23:30"), also a bare clock time; other words are still not a time.
#[test]
fn a_time_given_at_the_confirmation_moves_the_request() {
    for (correction, said, hour, minute, distance) in [
        ("no, make it 23:30", "23:30", 23, 30, "13 hours 29 minutes"),
        ("no, 22:15 instead", "22:15", 22, 15, "12 hours 14 minutes"),
        (
            "actually at 22:00 please",
            "at 22:00",
            22,
            0,
            "11 hours 59 minutes",
        ),
    ] {
        let mut s = Session::new();
        s.say("deploy shop 1.2 to staging at 21:00", Some("deploy_app"), 0);
        let t = s.say(correction, None, 1);
        assert_eq!(
            t.replies,
            [format!("“{said}” is Tue 24 Nov 2026 {hour}:{minute:02} UTC (in {distance}), so this waits until then: I will deploy shop 1.2 to staging. Shall I go ahead and schedule it for then? (yes/no)")],
            "{correction}"
        );
        let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
            panic!("{:?}", s.conversation.phase);
        };
        assert_eq!(
            request.at,
            Some(Utc.with_ymd_and_hms(2026, 11, 24, hour, minute, 0).unwrap()),
            "{correction}"
        );
    }
    // A correction that is no time leaves the time as it was.
    let mut s = Session::new();
    s.say("deploy shop 1.2 to staging at 21:00", Some("deploy_app"), 0);
    let t = s.say("no, banana", None, 1);
    assert!(
        t.replies[0].starts_with("I could not use “banana”"),
        "{:?}",
        t.replies
    );
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

/// Schedules `text` at `minute` (said, then confirmed a minute later) and
/// returns the request the scheduler keeps.
fn scheduled(s: &mut Session, text: &str, minute: u32) -> Request {
    s.say(text, Some("deploy_app"), minute);
    let t = s.say("yes", None, minute + 1);
    t.effects
        .iter()
        .find_map(|e| match e {
            Effect::Schedule(request) => Some(request.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("scheduled: {:?}", t.replies))
}

fn runs(t: &Transition) -> bool {
    t.effects.iter().any(|e| matches!(e, Effect::Run { .. }))
}

#[test]
fn a_missed_request_is_skipped_unless_its_dialog_says_otherwise() {
    let mut s = Session::new();
    let request = scheduled(&mut s, "deploy shop 1.2 to staging at 10:05", 0);
    // Due at 10:05, handed back at 10:30: the bot was down in between.
    let t = s.feed(Input::Due(&request), 30);
    assert!(
        t.replies[0].starts_with("I was not running at"),
        "{:?}",
        t.replies
    );
    assert!(!runs(&t));
    assert!(matches!(s.conversation.phase, Phase::Idle));
}

#[test]
fn missed_run_runs_late_and_says_so() {
    let mut s = Session::new();
    s.project
        .dialogs
        .get_mut("deploy_app")
        .unwrap()
        .when_due
        .missed = opsbot_spec::Missed::Run;
    let request = scheduled(&mut s, "deploy shop 1.2 to staging at 10:05", 0);
    let t = s.feed(Input::Due(&request), 30);
    assert!(t.replies[0].contains("late"), "{:?}", t.replies);
    assert!(runs(&t));
}

#[test]
fn missed_ask_asks_the_requester_and_runs_on_yes() {
    let mut s = Session::new();
    s.project
        .dialogs
        .get_mut("deploy_app")
        .unwrap()
        .when_due
        .missed = opsbot_spec::Missed::Ask;
    let request = scheduled(&mut s, "deploy shop 1.2 to staging at 10:05", 0);
    let t = s.feed(Input::Due(&request), 30);
    assert!(
        t.replies[0].ends_with("Shall I run it now? (yes/no)"),
        "{:?}",
        t.replies
    );
    assert!(!runs(&t));
    let t = s.say("yes", None, 31);
    assert!(runs(&t), "{:?}", t.replies);
}

#[test]
fn grace_decides_what_counts_as_missed() {
    let mut s = Session::new();
    s.project
        .dialogs
        .get_mut("deploy_app")
        .unwrap()
        .when_due
        .grace = std::time::Duration::from_secs(3600);
    let request = scheduled(&mut s, "deploy shop 1.2 to staging at 10:05", 0);
    let t = s.feed(Input::Due(&request), 30);
    assert!(
        t.replies[0].starts_with("Starting what alice scheduled"),
        "{:?}",
        t.replies
    );
    assert!(runs(&t));
}

#[test]
fn a_fresh_confirmation_at_the_time_runs_only_on_yes() {
    let mut s = Session::new();
    s.project
        .dialogs
        .get_mut("deploy_app")
        .unwrap()
        .when_due
        .confirm = true;
    let request = scheduled(&mut s, "deploy shop 1.2 to staging at 10:20", 0);
    let t = s.feed(Input::Due(&request), 20);
    assert!(
        t.replies[0].starts_with("It is time for what alice scheduled for")
            && t.replies[0].ends_with("Shall I go ahead now? (yes/no)"),
        "{:?}",
        t.replies
    );
    assert!(!runs(&t));
    let t = s.say("no", None, 21);
    assert!(!runs(&t), "{:?}", t.replies);
    assert!(matches!(s.conversation.phase, Phase::Idle));
}

#[test]
fn an_approver_who_left_the_group_no_longer_counts_at_the_time() {
    let mut s = Session::new();
    s.say(
        "deploy shop 1.2 to production at 10:40",
        Some("deploy_app"),
        0,
    );
    s.say("yes", None, 1);
    assert!(
        matches!(s.conversation.phase, Phase::AwaitingApproval { .. }),
        "{:?}",
        s.conversation.phase
    );
    let t = s.feed(
        Input::Approval {
            approver: "dave",
            approve: true,
        },
        2,
    );
    let request = t
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Schedule(request) => Some(request.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("scheduled after approval: {:?}", t.replies));
    // dave leaves release-managers before it is due.
    s.project
        .settings
        .groups
        .get_mut("release-managers")
        .unwrap()
        .remove("dave");
    let t = s.feed(Input::Due(&request), 40);
    let all = t.replies.join("\n");
    assert!(
        all.contains("dave, who approved it, is no longer a member"),
        "{all}"
    );
    assert!(!runs(&t));
    assert!(matches!(
        s.conversation.phase,
        Phase::AwaitingApproval { .. }
    ));
}

#[test]
fn a_dialog_that_has_come_to_need_two_factor_asks_for_it_at_the_time() {
    let mut s = Session::new();
    let request = scheduled(&mut s, "deploy shop 1.2 to staging at 10:20", 0);
    s.project.dialogs.get_mut("deploy_app").unwrap().two_factor = true;
    let t = s.feed(Input::Due(&request), 20);
    let all = t.replies.join("\n");
    // alice never enrolled: refused at the time, naming why.
    assert!(all.contains("two-factor authentication"), "{all}");
    assert!(!runs(&t));
}
