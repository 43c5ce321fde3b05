//! Listing, cancelling and moving scheduled work from chat. Only the person
//! who asked for a job, or an admin, may cancel or move it; a recurring post
//! is changed in the YAML. Each change is committed with its audit record.

use chrono::{DateTime, Utc};
use opsbot_spec::types::{display_time, parse_datetime_in, Direction, TimeFrame};
use opsbot_spec::ValueType;

use super::shown::{in_room, list, what};
use super::{ScheduleCommand, Which};
use crate::audit::{AuditRecord, BotCommand};
use crate::command::admins::Admins;
use crate::floor::Floor;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::{Commit, ConversationKey, Job, Store, Work};
use crate::RuntimeError;
use opsbot_spec::Settings;

/// A new time this close to now is not later.
const NOT_LATER: chrono::Duration = chrono::Duration::minutes(1);

pub(crate) async fn apply(
    floor: &Floor,
    loaded: &Loaded,
    admins: &Admins<'_>,
    key: &ConversationKey,
    command: ScheduleCommand,
    reply: &mut Reply<'_>,
) -> Result<(), RuntimeError> {
    let here = in_room(loaded, floor.store.jobs()?, &key.room);
    let now = floor.now();
    let (which, to) = match command {
        ScheduleCommand::List => {
            reply.say(list(loaded, key, &here, now));
            return Ok(());
        }
        ScheduleCommand::Cancel(which) => (which, None),
        ScheduleCommand::Move { which, to } => (which, Some(to)),
    };
    let verb = if to.is_some() { "move" } else { "cancel" };
    let job = match find(loaded, key, &here, &which, now) {
        Ok(job) => job,
        Err(told) => {
            reply.say(told.replace("{verb}", verb));
            return Ok(());
        }
    };
    if let Work::Post(post) = &job.work {
        reply.say(format!(
            "The post `{}` comes from `schedules:` in the YAML; change or remove it there and reload.",
            post.schedule
        ));
        return Ok(());
    }
    if let Work::Request(request) = &job.work {
        if request.runbook.is_some() {
            reply.say(format!(
                "That is a wait inside {}'s running runbook; it goes on by itself at its time. To stop the runbook, {} says “abort”.",
                job.key.user, job.key.user
            ));
            return Ok(());
        }
    }
    let requester = &job.key.user;
    if !loaded.project.settings.same_person(requester, &key.user) {
        let refusal = format!("Only {requester}, who asked for it, or an admin may {verb} it.");
        if let Some(refusal) = admins.refuse(&key.user, &refusal) {
            reply.say(refusal);
            return Ok(());
        }
    }
    match to {
        None => cancel(floor, loaded, key, job, reply).await,
        Some(to) => move_to(floor, loaded, key, job, &to, reply).await,
    }
}

/// The one job `which` names among the room's, or what to tell the speaker
/// (`{verb}` stands for "cancel" or "move").
fn find(
    loaded: &Loaded,
    key: &ConversationKey,
    here: &[Job],
    which: &Which,
    now: DateTime<Utc>,
) -> Result<Job, String> {
    let zone = loaded.project.settings.zone_of(&key.user);
    let (found, named): (Vec<&Job>, String) = match which {
        Which::At { time, what } => (
            here.iter()
                .filter(|j| j.due_at().with_timezone(&zone).format("%H:%M").to_string() == *time)
                .filter(|j| {
                    what.as_deref()
                        .is_none_or(|w| super::shown::does(loaded, j, w))
                })
                .collect(),
            format!("at {time}"),
        ),
        Which::Id(id) => (
            here.iter()
                .filter(|j| j.id().starts_with(id.as_str()) || j.short_id() == id)
                .collect(),
            format!("with the id {id}"),
        ),
        Which::It => (
            here.iter()
                .filter(|j| {
                    !matches!(j.work, Work::Post(_))
                        && loaded.project.settings.same_person(&j.key.user, &key.user)
                })
                .collect(),
            "of yours".to_string(),
        ),
    };
    match found.as_slice() {
        [job] => Ok((*job).clone()),
        [] => Err(format!(
            "Nothing scheduled in this room is {named}. Say “what is scheduled?” to see what is."
        )),
        _ => Err(format!(
            "More than one scheduled job here is {named}; say “{{verb}} <id>” with the id of the one you mean.\n{}",
            list(loaded, key, &found.into_iter().cloned().collect::<Vec<_>>(), now)
        )),
    }
}

async fn cancel(
    floor: &Floor,
    loaded: &Loaded,
    key: &ConversationKey,
    job: Job,
    reply: &mut Reply<'_>,
) -> Result<(), RuntimeError> {
    let now = floor.now();
    let mut change = Commit::at(now);
    change.unschedule.push(job.id().to_string());
    change.records.push(record(
        &loaded.project.settings,
        key,
        &key.user,
        now,
        &job,
        &format!("cancelled by {} before its time", key.user),
    ));
    commit(floor, key, change).await?;
    tracing::info!(room = %key.room, user = %key.user, job = %job.id(), "scheduled job cancelled");
    let verb = if job.request().is_some() {
        "run"
    } else {
        "be said"
    };
    reply.say(format!(
        "Cancelled: {} will not {verb}.",
        what(loaded, &job)
    ));
    Ok(())
}

async fn move_to(
    floor: &Floor,
    loaded: &Loaded,
    key: &ConversationKey,
    mut job: Job,
    to: &str,
    reply: &mut Reply<'_>,
) -> Result<(), RuntimeError> {
    let now = floor.now();
    let zone = loaded.project.settings.zone_of(&key.user);
    let Some(at) = new_time(to, now, zone) else {
        reply.say(format!(
            "I could not read “{to}” as a time; say e.g. “move {} to 22:00” or “… to tomorrow at 9”.",
            job.short_id()
        ));
        return Ok(());
    };
    if at <= now + NOT_LATER {
        reply.say(format!(
            "“{to}” is {}, which is not later than now; nothing was moved.",
            display_time(at, zone)
        ));
        return Ok(());
    }
    let from = job.due_at();
    match &mut job.work {
        Work::Request(request) => {
            request.at = Some(at);
            request.at_said = Some(to.to_string());
        }
        Work::Reminder(reminder) if reminder.every.is_some() => {
            reply.say(format!(
                "{} keeps its own times; cancel it (“cancel {}”) and ask again for the new ones.",
                what(loaded, &job),
                job.short_id()
            ));
            return Ok(());
        }
        Work::Reminder(reminder) => reminder.at = at,
        Work::Post(_) => return Ok(()),
    }
    let detail = format!(
        "moved by {} from {} to {}",
        key.user,
        from.to_rfc3339(),
        at.to_rfc3339()
    );
    let mut change = Commit::at(now);
    change.unschedule.push(job.id().to_string());
    change.records.push(record(
        &loaded.project.settings,
        key,
        &key.user,
        now,
        &job,
        &detail,
    ));
    change.schedule.push(job.clone());
    commit(floor, key, change).await?;
    floor.jobs_changed.notify_one();
    tracing::info!(room = %key.room, user = %key.user, job = %job.id(), "scheduled job moved");
    let distance = opsbot_spec::types::time_distance(at, now);
    let when = if zone == chrono_tz::UTC {
        format!("{} ({distance})", display_time(at, zone))
    } else {
        format!(
            "{} ({} UTC, {distance})",
            display_time(at, zone),
            at.format("%H:%M")
        )
    };
    reply.say(format!(
        "Moved: {} now happens at {when} instead of {}.",
        what(loaded, &job),
        display_time(from, zone)
    ));
    Ok(())
}

/// `to` read as one future time in `zone` ("22:00", "tomorrow at 9", "in 2
/// hours"); `None` when words are left over that are not part of it.
fn new_time(to: &str, now: DateTime<Utc>, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let frame = TimeFrame {
        now,
        zone,
        direction: Direction::Future,
    };
    // A bare clock time ("22:00") is a time here, as "at 22:00" is.
    let owned;
    let to = if to.starts_with(|c: char| c.is_ascii_digit()) {
        owned = format!("at {to}");
        owned.as_str()
    } else {
        to
    };
    let spans = ValueType::DateTime.find(to, now);
    let &(start, end) = spans.first()?;
    let rest = format!("{} {}", &to[..start], &to[end..]);
    let leftover = rest
        .split_whitespace()
        .any(|w| !matches!(w.to_ascii_lowercase().as_str(), "at" | "on" | "instead"));
    if leftover {
        return None;
    }
    parse_datetime_in(&to[start..end], &frame)
}

/// The audit record of a change to `job` made by `by`, in `key`'s
/// conversation.
fn record(
    settings: &Settings,
    key: &ConversationKey,
    by: &str,
    now: DateTime<Utc>,
    job: &Job,
    detail: &str,
) -> AuditRecord {
    match &job.work {
        Work::Request(request) => {
            let mut audit = AuditRecord::unscheduled(settings, &job.key, now, request, by);
            if detail.starts_with("moved") {
                audit.outcome = crate::audit::AuditOutcome::Scheduled;
            }
            audit.reason = Some(detail.to_string());
            audit
        }
        Work::Reminder(reminder) => AuditRecord::command(
            settings,
            key,
            now,
            &BotCommand {
                name: "reminder",
                target: &reminder.text,
                text: &reminder.text,
                outcome: if detail.starts_with("moved") {
                    crate::audit::AuditOutcome::Scheduled
                } else {
                    crate::audit::AuditOutcome::Cancelled
                },
                detail,
                confirmed: false,
            },
        ),
        Work::Post(post) => AuditRecord::command(
            settings,
            key,
            now,
            &BotCommand {
                name: "schedule",
                target: &post.schedule,
                text: &post.schedule,
                outcome: crate::audit::AuditOutcome::Cancelled,
                detail,
                confirmed: false,
            },
        ),
    }
}

/// The speaker's own conversation, unchanged: the commit is this worker's to
/// make; the requester's conversation is not touched.
async fn commit(floor: &Floor, key: &ConversationKey, change: Commit) -> Result<(), RuntimeError> {
    let mine = floor.store.load(key)?;
    floor.commit(key, &mine, change).await?;
    Ok(())
}

/// Cancels the scheduled job `id` for an operator at the machine (`by`
/// names them in the audit record: "cli:alice"), trusted like an admin.
/// Committed with the requester's conversation as it is, so the caller runs
/// this where that conversation may be written: its worker in a running bot
/// ([`crate::Runtime::cancel_scheduled`]), or a store no bot holds. `None`
/// when no job has that id (any more: it may have just run); refused for a
/// recurring post, which the YAML declares.
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
    if let Work::Post(post) = &job.work {
        return Err(RuntimeError::Refused(format!(
            "the post `{}` comes from `schedules:` in the YAML; change or remove it there",
            post.schedule
        )));
    }
    if let Work::Request(request) = &job.work {
        if request.runbook.is_some() {
            return Err(RuntimeError::Refused(format!(
                "that is a wait inside {}'s running runbook; the requester stops the runbook by saying “abort”",
                job.key.user
            )));
        }
    }
    let mut change = Commit::at(now);
    change.unschedule.push(job.id().to_string());
    change.records.push(record(
        settings,
        &job.key,
        by,
        now,
        &job,
        &format!("cancelled by {by} before its time"),
    ));
    let theirs = store.load(&job.key)?;
    store.commit(&job.key, &theirs, change)?;
    tracing::info!(room = %job.key.room, by, job = %job.id(), "scheduled job cancelled by an operator");
    Ok(Some(job))
}
