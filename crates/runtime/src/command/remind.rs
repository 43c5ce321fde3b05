//! Reminders, built in (no action runs): "remind me to check the backups in
//! 2 hours", "remind us every weekday at 9 to look at the lag report",
//! "remind bob at 17:00 to hand over". Every part of the message is used:
//! who, when (once or recurring) and what; a part that cannot be used is
//! named back and nothing is kept.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use opsbot_dialog::{Conversation, PendingReminder};
use opsbot_spec::cron::{recurrence_in, Every};
use opsbot_spec::types::{display_time, parse_datetime_in, time_distance, Direction, TimeFrame};
use opsbot_spec::{Settings, ValueType};
use regex::Regex;

use crate::audit::{AuditOutcome, AuditRecord, BotCommand};
use crate::floor::Floor;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::{Audience, Commit, ConversationKey, Job, Recurrence, Reminder, Work};
use crate::RuntimeError;

/// A reminder asked for, before its time is read (that needs the clock and
/// the speaker's zone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemindCommand {
    pub who: Who,
    /// Everything after who: the time and what to be reminded of.
    pub rest: String,
}

/// Who is to be reminded, as said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    Me,
    Room,
    /// "bob", "@bob:example.org".
    Person(String),
    /// "the db room": another room, which this bot cannot post to by name.
    OtherRoom(String),
}

static REMIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:(?:please|pls|hey|ok|okay)[,\s]+)?(?:(?:can|could|would|will) you\s+)?(?:please\s+)?remind\s+(?:(?P<me>me)|(?P<room>us|everyone|everybody|all of us|the room|this room|here)|the\s+(?P<other>[\w#.: -]+?)\s+(?:room|channel)|(?P<person>@[\w.=-]+:[\w.-]+|[a-z][\w.-]*))\s+(?P<rest>.+?)\s*[.!?]?$")
        .expect("a valid pattern")
});

/// Parses a reminder request, if the message is one.
pub fn parse(text: &str) -> Option<RemindCommand> {
    let c = REMIND.captures(text.trim())?;
    let who = if c.name("me").is_some() {
        Who::Me
    } else if c.name("room").is_some() {
        Who::Room
    } else if let Some(other) = c.name("other") {
        Who::OtherRoom(other.as_str().to_string())
    } else {
        Who::Person(c["person"].to_string())
    };
    Some(RemindCommand {
        who,
        rest: c["rest"].to_string(),
    })
}

/// When, read from the rest of the message: once or recurring, and the
/// words that said it.
struct When {
    at: DateTime<Utc>,
    said: String,
    every: Option<Every>,
    span: (usize, usize),
}

pub(crate) async fn apply(
    floor: &Floor,
    loaded: &Loaded,
    key: &ConversationKey,
    said: &str,
    asked: RemindCommand,
    reply: &mut Reply<'_>,
) -> Result<(), RuntimeError> {
    let settings = &loaded.project.settings;
    let to = match &asked.who {
        Who::Me => Audience::Requester,
        Who::Room => Audience::Room,
        Who::OtherRoom(room) => {
            reply.say(format!(
                "I can only remind people in the room the reminder is asked in, so I did not keep it for “the {room} room”; ask there (“remind us …”)."
            ));
            return Ok(());
        }
        Who::Person(person) if known(settings, person) => Audience::People(vec![person.clone()]),
        Who::Person(person) => {
            reply.say(format!(
                "I do not know anyone called “{person}”, so I kept no reminder. Say “remind me …”, “remind us …”, or name a person this bot knows."
            ));
            return Ok(());
        }
    };
    let now = floor.now();
    let zone = settings.zone_of(&key.user);
    let Some(when) = when(&asked.rest, now, zone) else {
        // Asked for its time; the message waits in the conversation for
        // the answer (`answer`), kept with it in the store.
        let mut mine = floor.store.load(key)?;
        mine.pending_reminder = Some(PendingReminder {
            said: said.to_string(),
            asked_at: now,
        });
        floor.commit(key, &mine, Commit::at(now)).await?;
        reply.say(format!(
            "When should I remind {}? Say a time such as “in 2 hours”, “at 17:00”, “tomorrow at 9” or “every weekday at 9”; anything else, and I keep no reminder.",
            whom(key, &to)
        ));
        return Ok(());
    };
    let text = what(&asked.rest, when.span);
    if text.is_empty() {
        reply.say(format!(
            "What should I remind {} of {}? Say e.g. “remind me {} to check the backups”; I kept nothing.",
            whom(key, &to),
            when.said,
            when.said
        ));
        return Ok(());
    }
    let reminder = Reminder {
        id: hex::encode(rand::random::<[u8; 4]>()),
        at: when.at,
        text: text.clone(),
        to: to.clone(),
        said: when.said.clone(),
        every: when.every.as_ref().map(|every| Recurrence {
            cron: every.expression().to_string(),
            zone: every.zone().name().to_string(),
        }),
    };
    let job = Job {
        key: key.clone(),
        work: Work::Reminder(reminder.clone()),
    };
    let detail = format!("for {} at {}", whom(key, &to), when.at.to_rfc3339());
    let mut change = Commit::at(now);
    change.schedule.push(job.clone());
    change.records.push(AuditRecord::command(
        settings,
        key,
        now,
        &BotCommand {
            name: "reminder",
            target: &text,
            text: said,
            outcome: AuditOutcome::Scheduled,
            detail: &detail,
            confirmed: false,
        },
    ));
    let mine = floor.store.load(key)?;
    floor.commit(key, &mine, change).await?;
    floor.jobs_changed.notify_one();
    tracing::info!(room = %key.room, user = %key.user, job = %reminder.id, "reminder kept");
    let first = if zone == chrono_tz::UTC {
        format!(
            "{} ({})",
            display_time(when.at, zone),
            time_distance(when.at, now)
        )
    } else {
        format!(
            "{} ({} UTC, {})",
            display_time(when.at, zone),
            when.at.format("%H:%M"),
            time_distance(when.at, now)
        )
    };
    let told = match &when.every {
        Some(every) => format!(
            "I will remind {} {} ({}, {}), first on {first}: “{text}”. Say “cancel {}” to stop.",
            whom(key, &to),
            when.said,
            every.describe(),
            every.zone().name(),
            job.short_id()
        ),
        None => format!(
            "I will remind {} at {first}: “{text}”. Say “cancel {}” to drop it, or “move {} to …” to change the time.",
            whom(key, &to),
            job.short_id(),
            job.short_id()
        ),
    };
    reply.say(told);
    Ok(())
}

/// The answer to "When should I remind you?": a message that is only a
/// time ("in 1 hour", "17:00", "tomorrow at 9 please") completes the
/// reminder that waits in `conversation` (`None`: answered). Any other
/// message, or one after `pending_expiry`, drops it and goes on to be
/// handled as usual with the conversation returned.
pub(crate) async fn answer(
    floor: &Floor,
    loaded: &Loaded,
    key: &ConversationKey,
    mut conversation: Conversation,
    text: &str,
    reply: &mut Reply<'_>,
) -> Result<Option<Conversation>, RuntimeError> {
    let Some(pending) = conversation.pending_reminder.take() else {
        return Ok(Some(conversation));
    };
    let now = floor.now();
    floor.commit(key, &conversation, Commit::at(now)).await?;
    let settings = &loaded.project.settings;
    let waited = (now - pending.asked_at).to_std().unwrap_or_default();
    if waited > settings.pending_expiry {
        return Ok(Some(conversation));
    }
    let zone = settings.zone_of(&key.user);
    let answer = text.trim().trim_end_matches(['.', '!']);
    // A bare clock time ("17:00") counts here, where a time was asked for.
    let Some((time, found)) = [answer.to_string(), format!("at {answer}")]
        .into_iter()
        .find_map(|time| when(&time, now, zone).map(|found| (time, found)))
    else {
        return Ok(Some(conversation));
    };
    let rest = what(&time, found.span).to_ascii_lowercase();
    if !["", "please", "thanks", "thank you"].contains(&rest.as_str()) {
        return Ok(Some(conversation));
    }
    let Some(asked) = parse(&pending.said) else {
        return Ok(Some(conversation));
    };
    let completed = RemindCommand {
        rest: format!("{} {}", found.said, asked.rest),
        ..asked
    };
    let said = format!("{} — {}", pending.said, text.trim());
    apply(floor, loaded, key, &said, completed, reply).await?;
    Ok(None)
}

/// A person the bot knows: in `people:`, in a group, or a chat id.
fn known(settings: &Settings, person: &str) -> bool {
    person.starts_with('@')
        || settings.people.person_of(person) != person
        || settings.people.ids_like(person).len() > 1
        || settings
            .groups
            .values()
            .any(|members| members.contains(person))
}

/// "you", "this room", "bob".
fn whom(key: &ConversationKey, to: &Audience) -> String {
    match to {
        Audience::Requester => "you".into(),
        Audience::Room => "this room".into(),
        Audience::People(people) if people.iter().any(|p| p == &key.user) => "you".into(),
        Audience::People(people) => people.join(", "),
    }
}

/// The time in `rest`: a recurrence first ("every weekday at 9"), else the
/// first time expression that reads as a future time in `zone`.
fn when(rest: &str, now: DateTime<Utc>, zone: chrono_tz::Tz) -> Option<When> {
    if let Some((span, expression)) = recurrence_in(rest) {
        let every = Every::parse(&expression, zone).ok()?;
        let at = every.next_after(now)?;
        return Some(When {
            at,
            said: rest[span.0..span.1].to_string(),
            every: Some(every),
            span,
        });
    }
    let frame = TimeFrame {
        now,
        zone,
        direction: Direction::Future,
    };
    ValueType::DateTime
        .find(rest, now)
        .into_iter()
        .find_map(|(start, end)| {
            let at = parse_datetime_in(rest.get(start..end)?, &frame)?;
            (at > now).then(|| When {
                at,
                said: rest[start..end].to_string(),
                every: None,
                span: (start, end),
            })
        })
}

/// What to be reminded of: the rest without the time, the link words around
/// it ("at", "on", "to", "that", "about") and closing punctuation.
fn what(rest: &str, (start, end): (usize, usize)) -> String {
    let before = rest[..start].trim_end();
    let before = strip_last_word(before, &["at", "on", "in", "by"]);
    let joined = format!("{} {}", before.trim(), rest[end..].trim());
    let mut text = joined.trim().to_string();
    loop {
        let lower = text.to_ascii_lowercase();
        let Some(word) = ["to ", "that ", "about ", "of ", "at ", "on "]
            .iter()
            .find(|w| lower.starts_with(*w))
        else {
            break;
        };
        text = text[word.len()..].trim_start().to_string();
    }
    text.trim_end_matches(['.', '!', ',', ';'])
        .trim()
        .to_string()
}

fn strip_last_word<'t>(text: &'t str, words: &[&str]) -> &'t str {
    match text.rsplit_once(' ') {
        Some((head, last)) if words.contains(&last.to_ascii_lowercase().as_str()) => head,
        None if words.contains(&text.to_ascii_lowercase().as_str()) => "",
        _ => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_and_the_rest_are_read() {
        let asked = parse("remind me to check the backups in 2 hours").unwrap();
        assert_eq!(asked.who, Who::Me);
        assert_eq!(asked.rest, "to check the backups in 2 hours");
        assert_eq!(
            parse("Please remind us every weekday at 9 to look at the lag report.")
                .unwrap()
                .who,
            Who::Room
        );
        assert_eq!(
            parse("remind the db room every weekday at 9 to look at the lag report")
                .unwrap()
                .who,
            Who::OtherRoom("db".into())
        );
        assert_eq!(
            parse("can you remind bob at 17:00 to hand over")
                .unwrap()
                .who,
            Who::Person("bob".into())
        );
        for text in [
            "remind me",
            "reminder: backups",
            "what did you remind me of",
            "remind",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }

    #[test]
    fn the_time_and_what_are_told_apart() {
        let now: DateTime<Utc> = "2026-03-02T10:00:00Z".parse().unwrap();
        let zone = chrono_tz::Europe::Berlin;
        for (rest, at, text) in [
            (
                "to check the backups in 2 hours",
                "2026-03-02T12:00:00Z",
                "check the backups",
            ),
            (
                "in 2 hours to check the backups",
                "2026-03-02T12:00:00Z",
                "check the backups",
            ),
            ("at 17:00 to hand over", "2026-03-02T16:00:00Z", "hand over"),
            (
                "that the freeze starts tomorrow at 9",
                "2026-03-03T08:00:00Z",
                "the freeze starts",
            ),
        ] {
            let found = when(rest, now, zone).unwrap_or_else(|| panic!("{rest}"));
            assert_eq!(found.at, at.parse::<DateTime<Utc>>().unwrap(), "{rest}");
            assert_eq!(what(rest, found.span), text, "{rest}");
        }
        let every = when("every weekday at 9 to look at the lag report", now, zone).unwrap();
        assert_eq!(every.every.unwrap().expression(), "0 9 * * 1-5");
        assert_eq!(
            every.at,
            "2026-03-03T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            what("every weekday at 9 to look at the lag report", every.span),
            "look at the lag report"
        );
        assert!(when("to check the backups", now, zone).is_none());
    }
}
