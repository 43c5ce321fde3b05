//! Property test (issue 25): a complete request of the example bot or a
//! test pack with an
//! extra part no slot of it takes — a time, a signed or decimal number, an
//! unknown name — read by a trained model, never gets a confirmation that
//! leaves the extra part unmentioned or whose values are not the message's.

use chrono::TimeZone;
use proptest::prelude::*;

use std::path::Path;
use std::sync::OnceLock;

use opsbot_nlu::{train, EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};
use opsbot_spec::Project;

use crate::engine::{step, Context, Input};
use crate::fuzz::{cases, example};
use crate::state::{Conversation, Phase, SlotOrigin};

/// Complete requests, each confirmed as it stands: (bot, speaker, request).
const REQUESTS: &[(&str, &str, &str)] = &[
    ("example", "alice", "restart apache on web-01"),
    ("example", "alice", "deploy shop 2.1 to production"),
    ("example", "alice", "roll back shop in staging"),
    (
        "example",
        "alice",
        "silence alerts for web-03 for 20 minutes",
    ),
    ("example", "alice", "extend acme's trial by 5 days"),
    ("dbops", "priya", "back up the orders database"),
    ("dbops", "priya", "fail over pg-main"),
    (
        "dbops",
        "priya",
        "kill queries on orders running longer than 10 minutes",
    ),
    ("cicd", "kim", "rerun the frontend pipeline"),
    ("cicd", "kim", "promote frontend to prod"),
    ("cicd", "kim", "scale the runners to 5"),
];

/// A test pack with a model trained on it (no sentence encoder).
fn pack(name: &str) -> &'static (Project, Nlu) {
    static PACKS: OnceLock<Vec<(String, (Project, Nlu))>> = OnceLock::new();
    let packs = PACKS.get_or_init(|| {
        ["dbops", "cicd"]
            .into_iter()
            .map(|name| {
                let project = opsbot_spec::load_project(
                    &Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../../tests/packs")
                        .join(name),
                )
                .expect("the pack loads");
                let model = train(
                    &TrainingData::from_project(&project),
                    &EntityExtractor::new(&project),
                    &NluConfig::default(),
                    &project.training_hash,
                    TrainOptions::default(),
                    |_| {},
                )
                .expect("training");
                let nlu = Nlu::new(&project, model, None).expect("model fits");
                (name.to_string(), (project, nlu))
            })
            .collect()
    });
    match name {
        "example" => example(),
        _ => &packs.iter().find(|(n, _)| n == name).expect("a pack").1,
    }
}

fn extra() -> impl Strategy<Value = (String, String)> {
    // (the words added, the part that must be named back)
    prop_oneof![
        (0u32..24, 0u32..60).prop_map(|(h, m)| {
            let time = format!("{h}:{m:02}");
            (format!("at {time}"), time)
        }),
        (1u32..50).prop_map(|n| (format!("-{n}"), format!("-{n}"))),
        (1u32..50, 1u32..10).prop_map(|(n, d)| {
            let number = format!("{n}.{d}");
            (number.clone(), number)
        }),
        ("[a-z]{2,4}-[a-z]{2,3}").prop_map(|name| (format!("to {name}"), name)),
    ]
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn an_extra_part_is_never_left_out_of_a_confirmation(
        which in 0..REQUESTS.len(),
        (added, part) in extra(),
    ) {
        let (bot, user, request) = REQUESTS[which];
        let (project, nlu) = pack(bot);
        let text = format!("{request} {added}");
        let u = nlu.understand(&text);
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let ctx = Context::new(user, "ops", now);
        let t = step(project, Conversation::default(), Input::Message(&u), &ctx);
        if let Phase::AwaitingConfirmation { request } = &t.conversation.phase {
            let said = t.replies.join(" ");
            // A time a change takes is its schedule: the confirmation opens
            // with it as written and as read ("“at 21:00” is Tue 24 Nov 2026
            // 21:00 UTC (in 11 hours), so this waits until then: …").
            let scheduled = request.at.is_some_and(|at| {
                request.at_said.as_ref().is_some_and(|w| said.starts_with(&format!("“{w}” is ")))
                    && said.contains(&at.format("%H:%M").to_string())
            });
            prop_assert!(
                scheduled || said.contains(&format!("“{part}")) || said.contains(&format!("{part}”")),
                "{text}: confirmed without naming {part}: {said}"
            );
            // Every value taken from the message is written in it.
            for value in request.slots.values().filter(|v| v.origin == SlotOrigin::Extracted) {
                let (lower, value) = (text.to_lowercase(), value.value.to_lowercase());
                prop_assert!(
                    !value.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
                        || lower.split(' ').any(|w| w == value),
                    "{text}: confirmed {value}, not as written"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(cases())]

    /// A negated request never reaches a confirmation or a run.
    #[test]
    fn a_negated_request_is_never_confirmed(
        which in 0..REQUESTS.len(),
        negation in prop::sample::select(vec![
            "please do not", "do not", "don't", "dont", "never", "no need to", "we should not",
        ]),
    ) {
        let (bot, user, request) = REQUESTS[which];
        let (project, nlu) = pack(bot);
        let text = format!("{negation} {request}");
        let u = nlu.understand(&text);
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let ctx = Context::new(user, "ops", now);
        let t = step(project, Conversation::default(), Input::Message(&u), &ctx);
        prop_assert!(
            !matches!(t.conversation.phase, Phase::AwaitingConfirmation { .. })
                && !t.effects.iter().any(|e| matches!(e, crate::engine::Effect::Run { .. })),
            "{text}: {:?}",
            t.replies
        );
    }
}

/// The property is about confirmations: each request, as it stands, gets one
/// (so an extra part is what the property varies).
#[test]
fn every_request_is_confirmed_as_it_stands() {
    for &(bot, user, request) in REQUESTS {
        let (project, nlu) = pack(bot);
        let u = nlu.understand(request);
        let now = chrono::Utc
            .with_ymd_and_hms(2026, 11, 24, 10, 0, 0)
            .unwrap();
        let t = step(
            project,
            Conversation::default(),
            Input::Message(&u),
            &Context::new(user, "ops", now),
        );
        assert!(
            matches!(t.conversation.phase, Phase::AwaitingConfirmation { .. }),
            "{bot}: {request}: {:?}",
            t.replies
        );
    }
}
