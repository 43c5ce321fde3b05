//! A reminder falls due: said in its room to whom it is for, and dropped —
//! or, when it recurs, kept for its next time — in one commit with its audit
//! record, before it is said.

use opsbot_spec::types::display_time;

use super::{next_time, Calendar, LATE_AFTER};
use crate::audit::{AuditOutcome, AuditRecord, BotCommand};
use crate::chat::Outbound;
use crate::model::Loaded;
use crate::store::{Audience, Commit, Job, Work};
use crate::RuntimeError;

impl Calendar {
    /// Says `job`'s reminder if it is still due; what to say, by room.
    pub(crate) async fn remind(
        &self,
        loaded: &Loaded,
        job: &Job,
    ) -> Result<Vec<Outbound>, RuntimeError> {
        let Some(mut job) = self.still_due(job)? else {
            return Ok(Vec::new());
        };
        let Work::Reminder(reminder) = job.work.clone() else {
            return Ok(Vec::new());
        };
        let (id, short_id) = (job.id().to_string(), job.short_id().to_string());
        let now = self.floor.now();
        let settings = &loaded.project.settings;
        let requester = job.key.user.clone();
        let zone = settings.zone_of(&requester);
        let late = if now - reminder.at > LATE_AFTER {
            format!(
                " (late: I was not running at {})",
                display_time(reminder.at, zone)
            )
        } else {
            String::new()
        };
        let (text, mention) = match &reminder.to {
            Audience::Requester => (
                format!("Reminder{late}: {}", reminder.text),
                Some(requester.clone()),
            ),
            Audience::Room => (
                format!(
                    "Reminder for this room from {requester}{late}: {}",
                    reminder.text
                ),
                None,
            ),
            // Named in the words too: a door that cannot mention (the
            // shell) or a reader scrolling back still sees who it is for.
            Audience::People(people) => (
                format!(
                    "Reminder for {} from {requester}{late}: {}",
                    people.join(" and "),
                    reminder.text
                ),
                people.first().map(|person| mention_id(loaded, person)),
            ),
        };
        let next = reminder
            .every
            .as_ref()
            .and_then(|every| next_time(every, now));
        let text = match (&reminder.every, next) {
            (Some(_), Some(next)) => format!(
                "{text}\n(Next: {}; “cancel {}” stops it.)",
                display_time(next, zone),
                short_id
            ),
            _ => text,
        };
        let mut change = Commit::at(now);
        change.unschedule.push(id.clone());
        change.records.push(AuditRecord::command(
            settings,
            &job.key,
            now,
            &BotCommand {
                name: "reminder",
                target: &reminder.text,
                text: &reminder.text,
                outcome: AuditOutcome::Succeeded,
                detail: &format!("reminded at its time {}{late}", reminder.at.to_rfc3339()),
                confirmed: false,
            },
        ));
        if let Some(next) = next {
            job.work = Work::Reminder(crate::store::Reminder {
                at: next,
                ..reminder.clone()
            });
            change.schedule.push(job.clone());
        }
        let kept = self.floor.store.load(&job.key)?;
        self.floor.commit(&job.key, &kept, change).await?;
        tracing::info!(room = %job.key.room, job = %id, "reminder said");
        Ok(vec![Outbound {
            room: job.key.room.clone(),
            text,
            mention,
        }])
    }
}

/// The chat id to mention for a person named in a reminder: one of their
/// ids from `people:` that looks like a chat id, else the name as given.
fn mention_id(loaded: &Loaded, person: &str) -> String {
    loaded
        .project
        .settings
        .people
        .ids_like(person)
        .into_iter()
        .find(|id| id.starts_with('@'))
        .unwrap_or_else(|| person.to_string())
}
