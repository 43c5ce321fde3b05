//! Property test: any sequence of messages, codes, approvals, outcomes and
//! restarts drives the engine without a panic, every state survives the store's
//! serialisation, and nothing runs without a yes, an approval or a read-only
//! dialog. `OPSBOT_FUZZ_CASES` sets the number of cases.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use chrono::TimeZone;
use opsbot_nlu::{train, EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};
use opsbot_spec::Project;
use proptest::prelude::*;

use crate::engine::{step, ActionOutcome, CodeCheck, Context, Effect, Input};
use crate::state::Conversation;

pub(crate) fn example() -> &'static (Project, Nlu) {
    static EXAMPLE: OnceLock<(Project, Nlu)> = OnceLock::new();
    EXAMPLE.get_or_init(|| {
        let project =
            opsbot_spec::load_project(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
                .expect("example bot loads");
        let data = TrainingData::from_project(&project);
        let model = train(
            &data,
            &EntityExtractor::new(&project),
            &NluConfig::default(),
            &project.training_hash,
            TrainOptions::default(),
            |_| {},
        )
        .expect("training");
        let nlu = Nlu::new(&project, model, None).expect("model fits");
        (project, nlu)
    })
}

pub(crate) fn cases() -> ProptestConfig {
    let cases = std::env::var("OPSBOT_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .map(|c: u32| (c / 10).max(1))
        .unwrap_or(200);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

#[derive(Debug, Clone)]
enum Event {
    Say(String),
    Code(u8),
    Approve(bool, bool),
    Finish(bool),
    Interrupt(bool),
    Wait(u16),
}

fn event() -> impl Strategy<Value = Event> {
    let phrase = prop_oneof![
        Just("restart apache"),
        Just("web-01"),
        Just("yes"),
        Just("no"),
        Just("no, on web-03"),
        Just("deploy shop 1.2.0 to production"),
        Just("deploy billing"),
        Just("1.0.0"),
        Just("qa"),
        Just("extend acme's trial by 3 days"),
        Just("who is on call"),
        Just("show recent deploys"),
        Just("help"),
        Just("cancel"),
        Just("banana"),
        Just("restart it on web-02"),
        Just("roll back shop"),
    ];
    prop_oneof![
        4 => phrase.prop_map(|p| Event::Say(p.to_string())),
        2 => any::<String>().prop_map(Event::Say),
        1 => any::<u8>().prop_map(Event::Code),
        1 => (any::<bool>(), any::<bool>()).prop_map(|(a, b)| Event::Approve(a, b)),
        1 => any::<bool>().prop_map(Event::Finish),
        1 => any::<bool>().prop_map(Event::Interrupt),
        1 => any::<u16>().prop_map(Event::Wait),
    ]
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn the_engine_survives_any_sequence(events in prop::collection::vec(event(), 1..30), user in prop_oneof![Just("alice"), Just("bob"), Just("mallory")]) {
        let (project, nlu) = example();
        let mut conversation = Conversation::default();
        let mut now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        for event in events {
            let mut ctx = Context::new(user, "ops", now);
            ctx.two_factor_enrolled = true;
            let understanding;
            let outcome;
            let input = match &event {
                Event::Say(text) => {
                    understanding = nlu.understand(text);
                    Input::Message(&understanding)
                }
                Event::Code(n) => Input::Code(match n % 4 {
                    0 => CodeCheck::Valid,
                    1 => CodeCheck::Invalid { tries_left: u32::from(*n % 5) },
                    2 => CodeCheck::AlreadyUsed,
                    _ => CodeCheck::LockedOut { until: now },
                }),
                Event::Approve(dave, approve) => Input::Approval { approver: if *dave { "dave" } else { "bob" }, approve: *approve },
                Event::Finish(ok) => {
                    outcome = ActionOutcome { succeeded: *ok, exit_code: Some(i32::from(!*ok)), output: "out".into(), duration: Duration::ZERO, error: None, started: true };
                    Input::ActionFinished(&outcome)
                }
                Event::Interrupt(started) => Input::Interrupted { started: *started },
                Event::Wait(seconds) => {
                    now += chrono::Duration::seconds(i64::from(*seconds));
                    continue;
                }
            };
            let ran_before = matches!(conversation.phase, crate::state::Phase::Executing { .. });
            let transition = step(project, conversation, input, &ctx);
            let runs = transition.effects.iter().filter(|e| matches!(e, Effect::Run { .. })).count();
            prop_assert!(runs <= 1);
            if runs == 1 {
                prop_assert!(!ran_before, "never a second run while one is outstanding");
                let allowed = match &event {
                    Event::Say(text) => crate::phrases::classify(text) == crate::phrases::Answer::Yes || nlu.understand(text).intent.is_some(),
                    Event::Code(_) | Event::Approve(..) => true,
                    _ => false,
                };
                prop_assert!(allowed, "a run needs a yes, a code, an approval, or a read-only request: {event:?}");
            }
            let json = serde_json::to_string(&transition.conversation).unwrap();
            let back: Conversation = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &transition.conversation);
            conversation = transition.conversation;
        }
    }
}
