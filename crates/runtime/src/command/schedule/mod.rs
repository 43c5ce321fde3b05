//! The bot's own words for what is scheduled: "what is scheduled?" lists the
//! room's requests for later, reminders and recurring posts; "cancel 7f3a" or
//! "cancel the 21:00 deploy" drops one; "move it to 22:00" moves one — its
//! requester or an admin only, audited.

use std::sync::LazyLock;

use regex::Regex;

mod apply;
mod shown;

pub(crate) use apply::apply;
pub use apply::cancel_as_operator;
pub use shown::{describe, with_id};

/// What was asked about scheduled work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleCommand {
    /// "what is scheduled?"
    List,
    /// "cancel 7f3a", "cancel the 21:00 deploy".
    Cancel(Which),
    /// "move it to 22:00", "move 7f3a to tomorrow at 9".
    Move { which: Which, to: String },
}

/// Which scheduled job a command names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// The start of its id.
    Id(String),
    /// The time it runs (HH:MM in the speaker's zone) and, optionally, words
    /// of what it does.
    At { time: String, what: Option<String> },
    /// "it", "that": the speaker's one scheduled job in the room.
    It,
}

static LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:what(?: is|'s|s)|list(?: the)?|show(?: the)?|any(?:thing)?)\s+(?:scheduled|schedules|scheduled requests|reminders)(?:\s+(?:here|in this room))?\s*\??$")
        .expect("a valid pattern")
});
static CANCEL_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:cancel|unschedule)\s+(?:the\s+)?(\d{1,2}):(\d{2})(?:\s+([a-z][a-z -]*?))?\s*[.!]?$")
        .expect("a valid pattern")
});
static CANCEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:cancel|unschedule)\s+([0-9a-f]{4,32})\s*[.!]?$").expect("a valid pattern")
});
/// "move it to 22:00", "reschedule 7f3a for tomorrow at 9", "postpone the
/// 21:00 deploy to 22:00".
static MOVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:move|reschedule|postpone)\s+(?:(?P<it>it|that|this)|(?P<id>[0-9a-f]{4,32})|(?:the\s+)?(?P<h>\d{1,2}):(?P<m>\d{2})(?:\s+(?P<what>[a-z][a-z -]*?))?)\s+(?:to|for|until|till)\s+(?P<to>.+?)\s*[.!]?$")
        .expect("a valid pattern")
});
/// What a new time starts with: a clock time, "in …", a day word. A message
/// like "move shop to production" is a dialog's, not this command's.
static TIME_START: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:\d{1,2}(?::\d{2})?\s*(?:am|pm)?\b|in\s+(?:\d+|an?|half)\b|(?:at|on)\s|tomorrow|tonight|today|noon|midnight|next\s|(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\b)")
        .expect("a valid pattern")
});

/// Parses a message about scheduled work, if it is one.
pub fn parse(text: &str) -> Option<ScheduleCommand> {
    let text = text.trim();
    if LIST.is_match(text) {
        return Some(ScheduleCommand::List);
    }
    if let Some(c) = CANCEL_AT.captures(text) {
        return Some(ScheduleCommand::Cancel(at(&c[1], &c[2], c.get(3))?));
    }
    if let Some(c) = CANCEL.captures(text) {
        return Some(ScheduleCommand::Cancel(Which::Id(
            c[1].to_ascii_lowercase(),
        )));
    }
    let c = MOVE.captures(text)?;
    let to = c["to"].trim().to_string();
    if !TIME_START.is_match(&to) {
        return None;
    }
    let which = if c.name("it").is_some() {
        Which::It
    } else if let Some(id) = c.name("id") {
        Which::Id(id.as_str().to_ascii_lowercase())
    } else {
        at(&c["h"], &c["m"], c.name("what"))?
    };
    Some(ScheduleCommand::Move { which, to })
}

fn at(hour: &str, minute: &str, what: Option<regex::Match<'_>>) -> Option<Which> {
    let hour: u32 = hour.parse().ok()?;
    Some(Which::At {
        time: format!("{hour:02}:{minute}"),
        what: what.map(|m| m.as_str().trim().to_ascii_lowercase()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_cancel_and_move_are_told_apart() {
        for text in [
            "what is scheduled?",
            "What's scheduled here",
            "list scheduled",
            "show the schedules",
            "any reminders?",
            "list reminders",
        ] {
            assert_eq!(parse(text), Some(ScheduleCommand::List), "{text}");
        }
        assert_eq!(
            parse("cancel 7F3A"),
            Some(ScheduleCommand::Cancel(Which::Id("7f3a".into())))
        );
        assert_eq!(
            parse("cancel the 21:00 deploy"),
            Some(ScheduleCommand::Cancel(Which::At {
                time: "21:00".into(),
                what: Some("deploy".into())
            }))
        );
        assert_eq!(
            parse("move it to 22:00"),
            Some(ScheduleCommand::Move {
                which: Which::It,
                to: "22:00".into()
            })
        );
        assert_eq!(
            parse("reschedule 7f3a for tomorrow at 9"),
            Some(ScheduleCommand::Move {
                which: Which::Id("7f3a".into()),
                to: "tomorrow at 9".into()
            })
        );
        assert_eq!(
            parse("postpone the 21:00 deploy to 22:30."),
            Some(ScheduleCommand::Move {
                which: Which::At {
                    time: "21:00".into(),
                    what: Some("deploy".into())
                },
                to: "22:30".into()
            })
        );
        for text in [
            "cancel",
            "cancel that",
            "cancel the deploy",
            "what is the schedule of the backup",
            "move shop to production",
            "move it to staging",
            "move the database to pg-2",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
