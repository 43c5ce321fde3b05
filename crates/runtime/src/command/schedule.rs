//! The bot's own words for scheduled requests: "what is scheduled?" lists
//! those of the room, "cancel 7f3a" drops one before its time (its requester
//! or an admin only), audited. An operator at the machine cancels one with
//! `opsbot schedule cancel` through [`cancel_as_operator`], the same change.

use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;

use super::admins::Admins;
use crate::audit::AuditRecord;
use crate::floor::Floor;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::{Commit, ConversationKey, Job, Store};
use crate::RuntimeError;
use opsbot_spec::{Project, Settings};

/// What was asked about scheduled requests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleCommand {
    /// "what is scheduled?"
    List,
    /// "cancel 7f3a": the start of a scheduled request's id.
    Cancel(String),
    /// "cancel the 21:00 deploy": the time it runs (HH:MM in the speaker's
    /// zone) and, optionally, words of what it does.
    CancelAt { time: String, what: Option<String> },
}

static LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:what(?: is|'s|s)|list(?: the)?|show(?: the)?|any(?:thing)?)\s+(?:scheduled|schedules|scheduled requests)(?:\s+(?:here|in this room))?\s*\??$")
        .expect("a valid pattern")
});
static CANCEL_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:cancel|unschedule)\s+(?:the\s+)?(\d{1,2}):(\d{2})(?:\s+([a-z][a-z -]*?))?\s*[.!]?$")
        .expect("a valid pattern")
});
static CANCEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:cancel|unschedule)\s+([0-9a-f]{4,32})\s*[.!]?$").expect("a valid pattern")
});

/// Parses a message about scheduled requests, if it is one.
pub fn parse(text: &str) -> Option<ScheduleCommand> {
    let text = text.trim();
    if LIST.is_match(text) {
        return Some(ScheduleCommand::List);
    }
    if let Some(c) = CANCEL_AT.captures(text) {
        let hour: u32 = c[1].parse().ok()?;
        return Some(ScheduleCommand::CancelAt {
            time: format!("{hour:02}:{}", &c[2]),
            what: c.get(3).map(|m| m.as_str().trim().to_ascii_lowercase()),
        });
    }
    CANCEL
        .captures(text)
        .map(|c| ScheduleCommand::Cancel(c[1].to_ascii_lowercase()))
}

pub(crate) async fn apply(
    floor: &Floor,
    loaded: &Loaded,
    admins: &Admins<'_>,
    key: &ConversationKey,
    command: ScheduleCommand,
    reply: &mut Reply<'_>,
) -> Result<(), RuntimeError> {
    let here: Vec<Job> = floor
        .store
        .jobs()?
        .into_iter()
        .filter(|job| job.key.room == key.room)
        .collect();
    match command {
        ScheduleCommand::List => {
            reply.say(list(loaded, key, &here, floor.now()));
            Ok(())
        }
        ScheduleCommand::Cancel(_) | ScheduleCommand::CancelAt { .. } => {
            let zone = loaded.project.settings.zone_of(&key.user);
            let (found, named): (Vec<&Job>, String) = match &command {
                ScheduleCommand::CancelAt { time, what } => (
                    here.iter()
                        .filter(|j| {
                            j.due_at().with_timezone(&zone).format("%H:%M").to_string() == *time
                        })
                        .filter(|j| what.as_deref().is_none_or(|w| does(loaded, j, w)))
                        .collect(),
                    format!("at {time}"),
                ),
                ScheduleCommand::Cancel(id) => (with_id(&here, id), format!("with the id {id}")),
                ScheduleCommand::List => unreachable!("listed above"),
            };
            let job = match found.as_slice() {
                [job] => *job,
                [] => {
                    reply.say(format!(
                        "Nothing scheduled in this room is {named}. Say “what is scheduled?” to see what is."
                    ));
                    return Ok(());
                }
                _ => {
                    reply.say(format!(
                        "More than one scheduled request here is {named}; say “cancel <id>” with the id of the one to drop.\n{}",
                        list(loaded, key, &found.into_iter().cloned().collect::<Vec<_>>(), floor.now())
                    ));
                    return Ok(());
                }
            };
            let requester = &job.key.user;
            if requester != &key.user {
                let refusal =
                    format!("Only {requester}, who asked for it, or an admin may cancel it.");
                if let Some(refusal) = admins.refuse(&key.user, &refusal) {
                    reply.say(refusal);
                    return Ok(());
                }
            }
            let change = cancellation(&loaded.project.settings, job, &key.user, floor.now());
            // The speaker's own conversation, unchanged: the commit is this
            // worker's to make; the requester's conversation is not touched.
            let mine = floor.store.load(key)?;
            floor.commit(key, &mine, change).await?;
            tracing::info!(room = %key.room, user = %key.user, request = %job.id(), "scheduled request cancelled");
            reply.say(format!(
                "Cancelled: {} will not run.",
                describe(&loaded.project, job)
            ));
            Ok(())
        }
    }
}

fn list(
    loaded: &Loaded,
    key: &ConversationKey,
    jobs: &[Job],
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    if jobs.is_empty() {
        return "Nothing is scheduled in this room.".into();
    }
    let zone = loaded.project.settings.zone_of(&key.user);
    let lines: Vec<String> = jobs
        .iter()
        .map(|job| {
            let at = job.due_at();
            format!(
                "• {} — {}, {} ({}), asked by {}",
                job.request.short_id(),
                describe(&loaded.project, job),
                opsbot_spec::types::display_time(at, zone),
                opsbot_spec::types::time_distance(at, now),
                job.key.user
            )
        })
        .collect();
    format!(
        "Scheduled in this room (say “cancel <id>” to drop one):\n{}",
        lines.join("\n")
    )
}

/// Whether `words` ("deploy", "the shop deploy") name what `job` does: one
/// of them begins a word of its dialog's name, intent or description.
fn does(loaded: &Loaded, job: &Job, words: &str) -> bool {
    let dialog = loaded.project.dialogs.get(&job.request.dialog);
    let about = format!(
        "{} {} {}",
        job.request.dialog,
        job.request.intent,
        dialog.map_or("", |d| d.description.as_str())
    )
    .to_ascii_lowercase();
    let known: Vec<&str> = about.split(|c: char| !c.is_alphanumeric()).collect();
    let values: Vec<String> = job.request.slot_values().into_values().collect();
    words
        .split_whitespace()
        .filter(|w| w.len() >= 3 && *w != "the")
        .any(|w| {
            known
                .iter()
                .any(|k| k.len() >= 3 && (k.starts_with(w) || w.starts_with(k)))
                || values.iter().any(|v| v.eq_ignore_ascii_case(w))
        })
}

/// The scheduled requests whose id starts with `prefix` (any case).
pub fn with_id<'j>(jobs: &'j [Job], prefix: &str) -> Vec<&'j Job> {
    let prefix = prefix.to_ascii_lowercase();
    jobs.iter()
        .filter(|job| job.id().starts_with(prefix.as_str()))
        .collect()
}

/// What cancelling `job` writes: it is forgotten, and audited as cancelled
/// by `by`.
fn cancellation(settings: &Settings, job: &Job, by: &str, now: DateTime<Utc>) -> Commit {
    let mut change = Commit::at(now);
    change.unschedule.push(job.id().to_string());
    change.records.push(AuditRecord::unscheduled(
        settings,
        &job.key,
        now,
        &job.request,
        by,
    ));
    change
}

/// Cancels the scheduled request `id` for an operator at the machine (`by`
/// names them in the audit record: "cli:alice"), trusted like an admin.
/// Committed with the requester's conversation as it is, so the caller runs
/// this where that conversation may be written: its worker in a running bot
/// ([`crate::Runtime::cancel_scheduled`]), or a store no bot holds. `None`
/// when no request has that id (any more: it may have just run).
pub fn cancel_as_operator(
    store: &dyn Store,
    settings: &Settings,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Option<Job>, RuntimeError> {
    let Some(job) = store.job(id)? else {
        return Ok(None);
    };
    let theirs = store.load(&job.key)?;
    store.commit(&job.key, &theirs, cancellation(settings, &job, by, now))?;
    tracing::info!(room = %job.key.room, by, request = %job.id(), "scheduled request cancelled by an operator");
    Ok(Some(job))
}

/// "the request to restart a service on a host (service=apache,
/// host=web-04)": what a scheduled request does, for lists and answers.
pub fn describe(project: &Project, job: &Job) -> String {
    let description = project
        .dialogs
        .get(&job.request.dialog)
        .map_or(job.request.dialog.as_str(), |d| d.description.as_str());
    let values: Vec<String> = job
        .request
        .slot_values()
        .into_iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if values.is_empty() {
        format!("the request to {description}")
    } else {
        format!("the request to {description} ({})", values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_cancel_are_told_apart() {
        for text in [
            "what is scheduled?",
            "What's scheduled here",
            "list scheduled",
            "show the schedules",
        ] {
            assert_eq!(parse(text), Some(ScheduleCommand::List), "{text}");
        }
        assert_eq!(
            parse("cancel 7F3A"),
            Some(ScheduleCommand::Cancel("7f3a".into()))
        );
        for text in [
            "cancel",
            "cancel that",
            "cancel the deploy",
            "what is the schedule of the backup",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
