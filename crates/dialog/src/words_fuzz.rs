//! Property test (issue 25): a complete request of the example bot with an
//! extra part no slot of it takes — a time, a signed or decimal number, an
//! unknown name — read by a trained model, never gets a confirmation that
//! leaves the extra part unmentioned or whose values are not the message's.

use chrono::TimeZone;
use proptest::prelude::*;

use crate::engine::{step, Context, Input};
use crate::fuzz::{cases, example};
use crate::state::{Conversation, Phase, SlotOrigin};

/// Complete requests of the example bot, each confirmed as it stands.
const REQUESTS: &[&str] = &[
    "restart apache on web-01",
    "deploy shop 2.1 to production",
    "roll back shop in staging",
    "silence alerts for web-03 for 20 minutes",
    "extend acme's trial by 5 days",
];

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
        let (project, nlu) = example();
        let text = format!("{} {added}", REQUESTS[which]);
        let u = nlu.understand(&text);
        let now = chrono::Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let ctx = Context::new("alice", "ops", now);
        let t = step(project, Conversation::default(), Input::Message(&u), &ctx);
        if let Phase::AwaitingConfirmation { request } = &t.conversation.phase {
            let said = t.replies.join(" ");
            prop_assert!(
                said.contains(&format!("“{part}")) || said.contains(&format!("{part}”")),
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
