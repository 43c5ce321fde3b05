//! How scheduled work is named in chat: what a job does ("the request to
//! deploy … (app=shop)", "the reminder “check the backups” for alice", "the
//! post of … every …"), whether words name it, and the room's list.

use chrono::{DateTime, Utc};
use opsbot_spec::types::{display_time, time_distance};

use crate::model::Loaded;
use crate::store::{Audience, ConversationKey, Job, Work};

/// The jobs that belong to `room`: its requests and reminders, and the
/// posts whose schedule names it.
pub(crate) fn in_room(loaded: &Loaded, jobs: Vec<Job>, room: &str) -> Vec<Job> {
    jobs.into_iter()
        .filter(|job| match &job.work {
            Work::Post(post) => loaded
                .project
                .schedules
                .get(&post.schedule)
                .is_some_and(|s| s.rooms.iter().any(|r| r == room)),
            _ => job.key.room == room,
        })
        .collect()
}

/// Who asked for it: the requester, or the YAML for a post.
pub(crate) fn asked_by(job: &Job) -> String {
    match &job.work {
        Work::Post(_) => "schedules: in the YAML".into(),
        _ => job.key.user.clone(),
    }
}

/// The jobs whose id starts with `prefix` (any case), or a post named so.
pub fn with_id<'j>(jobs: &'j [Job], prefix: &str) -> Vec<&'j Job> {
    let prefix = prefix.to_ascii_lowercase();
    jobs.iter()
        .filter(|job| job.id().starts_with(prefix.as_str()) || job.short_id() == prefix)
        .collect()
}

/// "the request to deploy an app (app=shop, version=1.2)".
pub(crate) fn what(loaded: &Loaded, job: &Job) -> String {
    describe(&loaded.project, job)
}

/// What a scheduled job does, for lists and answers: "the request to deploy
/// an app (app=shop, version=1.2)", "the reminder “check the backups” for
/// alice", "the post `handover` (…)".
pub fn describe(project: &opsbot_spec::Project, job: &Job) -> String {
    match &job.work {
        Work::Request(request) => {
            let description = project
                .dialogs
                .get(&request.dialog)
                .map_or(request.dialog.as_str(), |d| d.description.as_str());
            let values: Vec<String> = request
                .slot_values()
                .into_iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            // A running runbook's wait: it goes on by itself at its time.
            let what = if request.runbook.is_some() {
                "the running runbook"
            } else {
                "the request"
            };
            if values.is_empty() {
                format!("{what} to {description}")
            } else {
                format!("{what} to {description} ({})", values.join(", "))
            }
        }
        Work::Reminder(reminder) => {
            let whom = match &reminder.to {
                Audience::Requester => job.key.user.clone(),
                Audience::Room => "this room".into(),
                Audience::People(people) => people.join(", "),
            };
            let every = match &reminder.every {
                Some(_) => format!(", {}", reminder.said),
                None => String::new(),
            };
            format!("the reminder “{}” for {whom}{every}", reminder.text)
        }
        Work::Post(post) => {
            let schedule = project.schedules.get(&post.schedule);
            let description = schedule
                .and_then(|s| project.dialogs.get(&s.dialog))
                .map_or("", |d| d.description.as_str());
            format!(
                "the post `{}` ({description}), {} ({})",
                post.schedule,
                schedule.map_or(String::new(), |s| s.every.describe()),
                post.every.zone
            )
        }
    }
}

/// Whether `words` ("deploy", "the shop deploy", "backups") name what `job`
/// does: one of them begins a word of its dialog's name, intent or
/// description, or is one of its values or reminder words.
pub(crate) fn does(loaded: &Loaded, job: &Job, words: &str) -> bool {
    let about = match &job.work {
        Work::Request(request) => {
            let dialog = loaded.project.dialogs.get(&request.dialog);
            let values: Vec<String> = request.slot_values().into_values().collect();
            format!(
                "{} {} {} {}",
                request.dialog,
                request.intent,
                dialog.map_or("", |d| d.description.as_str()),
                values.join(" ")
            )
        }
        Work::Reminder(reminder) => format!("reminder {}", reminder.text),
        Work::Post(post) => format!("post {}", post.schedule),
    }
    .to_ascii_lowercase();
    let known: Vec<&str> = about.split(|c: char| !c.is_alphanumeric()).collect();
    words
        .split_whitespace()
        .filter(|w| w.len() >= 3 && *w != "the")
        .any(|w| {
            known
                .iter()
                .any(|k| k.len() >= 3 && (k.starts_with(w) || w.starts_with(k)))
                || known.iter().any(|k| k.eq_ignore_ascii_case(w))
        })
}

/// The room's scheduled work, one line each, soonest first.
pub(crate) fn list(
    loaded: &Loaded,
    key: &ConversationKey,
    jobs: &[Job],
    now: DateTime<Utc>,
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
                job.short_id(),
                what(loaded, job),
                display_time(at, zone),
                time_distance(at, now),
                asked_by(job)
            )
        })
        .collect();
    format!(
        "Scheduled in this room (say “cancel <id>” to drop one, “move <id> to 22:00” to move it):\n{}",
        lines.join("\n")
    )
}
