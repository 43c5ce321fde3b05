//! How many confirmations account for every part of a message (issue 25):
//! messages with an extra part (a time, a number, a name no slot takes) are
//! read and stepped once each; a confirmation counts as accounted when it
//! names the extra part. `opsbot evaluate` can report it over a file of
//! lines "message<TAB>extra part" (`tests/extra_parts.txt`).

use chrono::{DateTime, Utc};
use opsbot_nlu::Understanding;
use opsbot_spec::Project;
use serde::Serialize;

use crate::engine::{step, Context, Input};
use crate::state::{Conversation, Phase};

/// One message and the part of it that no slot of its request takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraPart {
    pub message: String,
    pub part: String,
}

/// Parses "message<TAB>extra part" lines; `#` starts a comment line.
pub fn parse_extra_parts(text: &str) -> Vec<ExtraPart> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (message, part) = l.split_once('\t')?;
            Some(ExtraPart {
                message: message.trim().to_string(),
                part: part.trim().to_string(),
            })
        })
        .collect()
}

/// What the evaluation found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExtrasReport {
    pub messages: usize,
    /// Messages that got a confirmation question.
    pub confirmed: usize,
    /// Confirmations that named the extra part.
    pub accounted: usize,
    /// Confirmations that did not: the message and what was said.
    pub unaccounted: Vec<(String, String)>,
}

/// Steps each message once, from a fresh conversation of `user`, read by
/// `understand`, at `now`.
pub fn evaluate_extra_parts(
    project: &Project,
    parts: &[ExtraPart],
    user: &str,
    now: DateTime<Utc>,
    understand: impl Fn(&str) -> Understanding,
) -> ExtrasReport {
    let mut report = ExtrasReport::default();
    for extra in parts {
        report.messages += 1;
        let u = understand(&extra.message);
        let ctx = Context::new(user, "evaluate", now);
        let t = step(project, Conversation::default(), Input::Message(&u), &ctx);
        let Phase::AwaitingConfirmation { request } = &t.conversation.phase else {
            continue;
        };
        report.confirmed += 1;
        let said = t.replies.join(" ");
        // A time a change takes is its schedule, named back first ("“at
        // 21:00” is …, so this waits until then: …").
        let scheduled = request
            .at_said
            .as_ref()
            .is_some_and(|written| said.starts_with(&format!("“{written}” is ")));
        if scheduled || said.contains(&extra.part) {
            report.accounted += 1;
        } else {
            report.unaccounted.push((extra.message.clone(), said));
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use chrono::TimeZone;

    use super::*;
    use crate::fuzz::example;

    #[test]
    fn every_confirmation_of_the_example_file_accounts_for_its_extra_part() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/extra_parts.txt");
        let parts = parse_extra_parts(&std::fs::read_to_string(file).unwrap());
        assert!(parts.len() >= 10);
        let (project, nlu) = example();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        let report = evaluate_extra_parts(project, &parts, "alice", now, |t| nlu.understand(t));
        assert!(report.confirmed > 0, "{report:?}");
        assert_eq!(report.accounted, report.confirmed, "{report:#?}");
    }

    #[test]
    fn lines_are_message_tab_part() {
        assert_eq!(
            parse_extra_parts("# comment\nrestart apache on web-01 at 9:00\tat 9:00\n\nno tab\n"),
            [ExtraPart {
                message: "restart apache on web-01 at 9:00".into(),
                part: "at 9:00".into()
            }]
        );
    }
}
