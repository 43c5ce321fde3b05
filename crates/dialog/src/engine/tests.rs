//! The engine driven directly with hand-made understandings: no model, no
//! store, no runtime.

use std::path::Path;

use chrono::TimeZone;
use opsbot_nlu::{EntityExtractor, IntentGuess};

use super::*;
use crate::plan::Plan;

fn project() -> Project {
    opsbot_spec::load_project(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .expect("the example bot loads")
}

fn understood(project: &Project, text: &str, intent: Option<&str>) -> Understanding {
    Understanding {
        text: text.into(),
        intent: intent.map(|name| IntentGuess {
            name: name.into(),
            confidence: 0.9,
        }),
        ranking: Vec::new(),
        ambiguous: Vec::new(),
        entities: EntityExtractor::new(project).candidates(text),
        unserved: None,
        unsure: None,
        meant: None,
        unknown: Vec::new(),
    }
}

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 10, minute, 0).unwrap()
}

struct Session {
    project: Project,
    conversation: Conversation,
}

impl Session {
    fn new() -> Session {
        Session {
            project: project(),
            conversation: Conversation::default(),
        }
    }

    fn say(&mut self, text: &str, intent: Option<&str>, minute: u32) -> Transition {
        let u = understood(&self.project, text, intent);
        let ctx = Context::new("alice", "ops", at(minute));
        let t = step(
            &self.project,
            self.conversation.clone(),
            Input::Message(&u),
            &ctx,
        );
        self.conversation = t.conversation.clone();
        t
    }

    fn feed(&mut self, input: Input<'_>, minute: u32) -> Transition {
        let ctx = Context::new("alice", "ops", at(minute));
        let t = step(&self.project, self.conversation.clone(), input, &ctx);
        self.conversation = t.conversation.clone();
        t
    }
}

impl Session {
    /// A message the NLU found ambiguous between restarting and deploying.
    fn say_ambiguous(&mut self, text: &str, minute: u32) -> Transition {
        let mut u = understood(&self.project, text, None);
        u.ambiguous = vec![
            IntentGuess {
                name: "restart_service".into(),
                confidence: 0.45,
            },
            IntentGuess {
                name: "deploy_app".into(),
                confidence: 0.40,
            },
        ];
        let ctx = Context::new("alice", "ops", at(minute));
        let t = step(
            &self.project,
            self.conversation.clone(),
            Input::Message(&u),
            &ctx,
        );
        self.conversation = t.conversation.clone();
        t
    }
}

#[test]
fn ambiguous_messages_ask_which_and_an_ordinal_answers() {
    let mut s = Session::new();
    let t = s.say_ambiguous("checkout on web-01 again", 0);
    assert_eq!(
        t.replies,
        ["Did you mean to restart a service on a host or to deploy a version of an app to an environment? Say “the first”, “the second” or what you meant."]
    );
    assert!(matches!(s.conversation.phase, Phase::Choosing { .. }));
    let t = s.say("the first", None, 1);
    // The original message's host is kept; the service is asked for.
    assert!(t.replies[0].contains("service"), "{:?}", t.replies);
    let Phase::Collecting { request, .. } = &s.conversation.phase else {
        panic!("expected collecting: {:?}", s.conversation.phase);
    };
    assert_eq!(request.dialog, "restart_service");
    assert_eq!(request.slots["host"].value, "web-01");
}

#[test]
fn a_word_of_the_option_or_a_new_request_resolves_the_question() {
    let mut s = Session::new();
    s.say_ambiguous("checkout please", 0);
    s.say("deploy", None, 1);
    let request = s.conversation.request().expect("a request");
    assert_eq!(request.dialog, "deploy_app");

    let mut s = Session::new();
    s.say_ambiguous("checkout please", 0);
    let t = s.say("never mind", None, 1);
    assert_eq!(t.replies, ["Okay, I will do neither."]);
    assert_eq!(s.conversation.phase, Phase::Idle);

    // An unrelated reply is read afresh.
    let mut s = Session::new();
    s.say_ambiguous("checkout please", 0);
    s.say("who is on call for payments", Some("who_is_on_call"), 1);
    assert_ne!(s.conversation.phase_name(), "choosing");
}

#[test]
fn not_understood_suggests_the_nearest_things() {
    let mut s = Session::new();
    let mut u = understood(&s.project, "frobnicate the database", None);
    u.ranking = vec![
        IntentGuess {
            name: "out_of_scope".into(),
            confidence: 0.5,
        },
        IntentGuess {
            name: "rollback_app".into(),
            confidence: 0.3,
        },
    ];
    let ctx = Context::new("alice", "ops", at(0));
    let t = step(&s.project, s.conversation.clone(), Input::Message(&u), &ctx);
    s.conversation = t.conversation;
    assert_eq!(
        t.replies,
        ["Sorry, I did not understand “frobnicate the database”. Closest to that, I can:\n• roll an app back to its previous version\nSay “help” to see everything I can do."]
    );
}

#[test]
fn confirmation_yields_the_exact_argv_and_environment() {
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    let t = s.say("yes", None, 1);
    let [Effect::Run {
        plan:
            Plan::Program {
                program_display,
                args,
                env,
                ..
            },
        request,
    }] = t.effects.as_slice()
    else {
        panic!("expected one run effect: {:?}", t.effects);
    };
    assert_eq!(program_display, "actions/restart-service.sh");
    assert_eq!(args, &["apache", "web-01"]);
    assert!(env.contains(&("OPSBOT_SLOT_HOST".into(), "web-01".into())));
    assert!(env.contains(&("OPSBOT_USER".into(), "alice".into())));
    assert_eq!(request.confirmed_by.as_deref(), Some("alice"));
    assert_eq!(request.messages, ["restart apache on web-01", "yes"]);
    assert!(matches!(s.conversation.phase, Phase::Executing { .. }));
}

#[test]
fn outcomes_use_the_result_templates_and_feed_carry_over() {
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    s.say("yes", None, 0);
    let failed = ActionOutcome {
        succeeded: false,
        exit_code: Some(3),
        output: "boom\n".into(),
        duration: Duration::from_millis(20),
        error: None,
        started: true,
    };
    let t = s.feed(Input::ActionFinished(&failed), 0);
    assert_eq!(
        t.replies,
        ["Restarting apache on web-01 failed (exit status 3): boom"]
    );
    assert!(
        s.conversation.memory.is_empty(),
        "a failed request is not carried over"
    );

    s.say("restart apache on web-01", Some("restart_service"), 1);
    s.say("yes", None, 1);
    let ok = ActionOutcome {
        succeeded: true,
        exit_code: Some(0),
        output: String::new(),
        duration: Duration::ZERO,
        error: None,
        started: true,
    };
    s.feed(Input::ActionFinished(&ok), 1);
    assert_eq!(s.conversation.memory["service"].value, "apache");
    let t = s.say("restart it on web-02", Some("restart_service"), 2);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-02. Shall I go ahead? (yes/no)"]
    );
    let Phase::AwaitingConfirmation { request } = &s.conversation.phase else {
        panic!()
    };
    assert_eq!(request.slots["service"].origin, SlotOrigin::CarriedOver);
    assert_eq!(request.slots["host"].origin, SlotOrigin::Extracted);
}

#[test]
fn an_interrupted_action_is_recorded_as_unknown_and_never_rerun() {
    let mut s = Session::new();
    s.say("restart apache on web-01", Some("restart_service"), 0);
    s.say("yes", None, 0);
    let t = s.feed(Input::Interrupted { started: true }, 5);
    assert!(t.replies[0].starts_with("I lost track of your request to restart a service on a host"));
    assert!(!t.effects.iter().any(|e| matches!(e, Effect::Run { .. })));
    assert!(matches!(
        t.effects.as_slice(),
        [Effect::Record(Record {
            disposition: Outcome::OutcomeUnknown,
            ..
        })]
    ));
    assert_eq!(s.conversation.phase, Phase::Idle);
}

#[test]
fn a_denied_request_is_recorded_with_what_was_asked() {
    let project = project();
    let u = understood(
        &project,
        "extend acme's trial by 30 days",
        Some("extend_trial"),
    );
    let ctx = Context::new("mallory", "ops", at(0));
    let t = step(&project, Conversation::default(), Input::Message(&u), &ctx);
    assert_eq!(t.replies, ["Sorry, mallory may not extend a customer's trial by some days: that needs membership of account-managers."]);
    let [Effect::Record(record)] = t.effects.as_slice() else {
        panic!("{:?}", t.effects)
    };
    assert_eq!(record.disposition, Outcome::Denied);
    assert_eq!(record.request.slots["customer"].value, "acme");
}

#[test]
fn expiry_starts_just_after_the_limit() {
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    let t = s.say("web-01", None, 10);
    assert_eq!(
        t.replies,
        ["I will restart apache on web-01. Shall I go ahead? (yes/no)"],
        "exactly 10 minutes is still in time"
    );
    let t = s.say("yes", None, 16);
    assert_eq!(t.replies[0], "Your request to restart a service on a host waited more than 5m for an answer, so I dropped it.");
    assert!(matches!(
        t.effects.as_slice(),
        [Effect::Record(Record {
            disposition: Outcome::Expired,
            ..
        })]
    ));
}

#[test]
fn the_rate_limit_holds_the_confirmation() {
    let project = project();
    let limit = project.settings.rate_limit.executions;
    let u = understood(
        &project,
        "restart apache on web-01",
        Some("restart_service"),
    );
    let mut ctx = Context::new("alice", "ops", at(0));
    let t = step(&project, Conversation::default(), Input::Message(&u), &ctx);
    let yes = understood(&project, "yes", None);
    ctx.recent_executions = limit;
    let held = step(&project, t.conversation.clone(), Input::Message(&yes), &ctx);
    assert!(held.replies[0].starts_with(&format!(
        "You have started {limit} actions in the last 1m; please wait a little, then answer again."
    )));
    assert!(held.effects.is_empty());
    assert!(matches!(
        held.conversation.phase,
        Phase::AwaitingConfirmation { .. }
    ));
    ctx.recent_executions = limit - 1;
    let runs = step(&project, held.conversation, Input::Message(&yes), &ctx);
    assert!(matches!(runs.effects.as_slice(), [Effect::Run { .. }]));
}

#[test]
fn access_matrix_over_users_dialogs_and_values() {
    let project = project();
    // (user, message, intent, whether it reaches a confirmation)
    let cases = [
        ("alice", "restart apache on web-01", "restart_service", true),
        (
            "alice",
            "restart postgres on db-01",
            "restart_service",
            false,
        ),
        (
            "carol",
            "restart postgres on db-01",
            "restart_service",
            true,
        ),
        (
            "mallory",
            "restart apache on web-01",
            "restart_service",
            true,
        ),
        (
            "alice",
            "deploy shop 1.0.0 to production",
            "deploy_app",
            true,
        ),
        (
            "dave",
            "deploy shop 1.0.0 to production",
            "deploy_app",
            true,
        ),
        (
            "bob",
            "deploy shop 1.0.0 to production",
            "deploy_app",
            false,
        ),
        ("bob", "deploy shop 1.0.0 to staging", "deploy_app", true),
        ("bob", "roll back shop in production", "rollback_app", false),
        ("dave", "roll back shop in production", "rollback_app", true),
        ("bob", "extend acme's trial by 3 days", "extend_trial", true),
        (
            "dave",
            "extend acme's trial by 3 days",
            "extend_trial",
            false,
        ),
        (
            "mallory",
            "extend acme's trial by 3 days",
            "extend_trial",
            false,
        ),
    ];
    for (user, text, intent, allowed) in cases {
        let u = understood(&project, text, Some(intent));
        let t = step(
            &project,
            Conversation::default(),
            Input::Message(&u),
            &Context::new(user, "ops", at(0)),
        );
        let confirming = matches!(t.conversation.phase, Phase::AwaitingConfirmation { .. });
        assert_eq!(confirming, allowed, "{user}: {text}: {:?}", t.replies);
        let denied = matches!(
            t.effects.as_slice(),
            [Effect::Record(Record {
                disposition: Outcome::Denied,
                ..
            })]
        );
        assert_eq!(denied, !allowed, "a denial is audited: {user}: {text}");
    }
}

#[test]
fn only_a_different_approver_runs_a_production_deploy() {
    let mut s = Session::new();
    s.say("deploy shop 1.0.0 to production", Some("deploy_app"), 0);
    let t = s.say("yes", None, 0);
    assert!(t.replies[0].contains("must approve"), "{:?}", t.replies);
    let alice = s.feed(
        Input::Approval {
            approver: "alice",
            approve: true,
        },
        1,
    );
    assert!(
        alice.effects.is_empty()
            && alice.replies[0].starts_with("You cannot approve your own request")
    );
    let bob = s.feed(
        Input::Approval {
            approver: "bob",
            approve: true,
        },
        1,
    );
    assert!(
        bob.effects.is_empty()
            && bob.replies[0].starts_with("bob is not a member of release-managers")
    );
    let dave = s.feed(
        Input::Approval {
            approver: "dave",
            approve: true,
        },
        2,
    );
    let [Effect::Run { request, .. }] = dave.effects.as_slice() else {
        panic!("{:?}", dave.effects)
    };
    assert_eq!(request.approved_by.as_deref(), Some("dave"));
    assert_eq!(request.confirmed_by.as_deref(), Some("alice"));
}

#[test]
fn stored_state_keeps_its_shape() {
    // The store persists this JSON; changing its shape needs a migration.
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    let json = serde_json::to_value(&s.conversation).unwrap();
    assert_eq!(json["phase"]["phase"], "collecting");
    assert_eq!(json["phase"]["asking"], "host");
    assert_eq!(
        json["phase"]["request"]["slots"]["service"],
        serde_json::json!({"value": "apache", "origin": "extracted"})
    );
    assert_eq!(
        json["phase"]["request"]["touched_at"],
        "2026-11-24T10:00:00Z"
    );
    let back: Conversation = serde_json::from_value(json).unwrap();
    assert_eq!(back, s.conversation);
}

#[test]
fn overlong_messages_are_refused_without_changing_state() {
    let mut s = Session::new();
    s.say("restart apache", Some("restart_service"), 0);
    let before = s.conversation.clone();
    let t = s.say(&"x".repeat(MAX_MESSAGE_CHARS + 1), None, 1);
    assert!(t.replies[0].contains("I only read messages of up to 2000 characters"));
    assert_eq!(s.conversation, before);
}

#[cfg(test)]
#[path = "lesson_tests.rs"]
mod lesson_tests;

mod words;

mod later;
mod request_words;
mod runbook;
mod runbook_pauses;
mod unlikely;
