//! A recurring post falls due: its job moves to the next time (committed
//! first: a post never runs twice for one time), then its read-only dialog
//! runs with the schedule's values and what it answers is posted to the
//! schedule's rooms and audited. A post whose time passed while the bot was
//! not running follows `missed:` — skipped (audited) or run once, late.

use opsbot_dialog::post::{post_plan, post_text, POSTER};
use opsbot_spec::Missed;

use super::{next_time, Calendar, LATE_AFTER};
use crate::audit::{AuditOutcome, AuditRecord, BotCommand};
use crate::chat::Outbound;
use crate::model::Loaded;
use crate::store::{Commit, Job, Work};
use crate::RuntimeError;

impl Calendar {
    /// Runs `job`'s post if it is still due; what to post, by room.
    pub(crate) async fn post(
        &self,
        loaded: &Loaded,
        job: &Job,
    ) -> Result<Vec<Outbound>, RuntimeError> {
        let Some(mut job) = self.still_due(job)? else {
            return Ok(Vec::new());
        };
        let Work::Post(post) = &mut job.work else {
            return Ok(Vec::new());
        };
        let now = self.floor.now();
        let settings = &loaded.project.settings;
        let due = post.at;
        let mut change = Commit::at(now);
        change.unschedule.push(post.id.clone());
        let Some(schedule) = loaded.project.schedules.get(&post.schedule) else {
            // Removed from the project since it was armed.
            let kept = self.floor.store.load(&job.key)?;
            self.floor.commit(&job.key, &kept, change).await?;
            return Ok(Vec::new());
        };
        if let Some(next) = next_time(&post.every, now) {
            post.at = next;
            change.schedule.push(job.clone());
        }
        let missed = now - due > LATE_AFTER;
        if missed && schedule.missed == Missed::Skip {
            change.records.push(AuditRecord::command(
                settings,
                &job.key,
                now,
                &BotCommand {
                    name: "schedule",
                    target: &schedule.name,
                    text: schedule.every.expression(),
                    outcome: AuditOutcome::Cancelled,
                    detail: &format!(
                        "missed: the bot was not running at {} (missed: skip)",
                        due.to_rfc3339()
                    ),
                    confirmed: false,
                },
            ));
            let kept = self.floor.store.load(&job.key)?;
            self.floor.commit(&job.key, &kept, change).await?;
            tracing::info!(schedule = %schedule.name, %due, "missed post skipped");
            return Ok(Vec::new());
        }
        let kept = self.floor.store.load(&job.key)?;
        self.floor.commit(&job.key, &kept, change).await?;
        let Some((request, plan)) = post_plan(&loaded.project, schedule, due) else {
            return Ok(Vec::new());
        };
        tracing::info!(schedule = %schedule.name, %due, "post due");
        let outcome = self.actions.execute(loaded, &plan).await;
        let mut text = post_text(&loaded.project, schedule, &request, &outcome);
        if missed {
            let zone = schedule.every.zone();
            text = format!(
                "{text}\n(Late: this was due at {}, when I was not running.)",
                opsbot_spec::types::display_time(due, zone)
            );
        }
        let mut done = Commit::at(self.floor.now());
        let mut record = AuditRecord::executed(
            settings,
            &job.key,
            self.floor.now(),
            &request,
            &plan,
            &outcome,
        );
        record.confirmed_by = Some(format!("{POSTER}: {}", schedule.name));
        done.records.push(record);
        let kept = self.floor.store.load(&job.key)?;
        self.floor.commit(&job.key, &kept, done).await?;
        Ok(schedule
            .rooms
            .iter()
            .map(|room| Outbound {
                room: room.clone(),
                text: text.clone(),
                mention: None,
            })
            .collect())
    }
}
