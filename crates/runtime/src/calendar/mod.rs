//! The calendar: reminders and recurring posts when they fall due (requests
//! for later run in their conversations instead). A service with its own
//! fields: the floor's store, clock and chat, and the actions a post runs.
//!
//! Each firing is committed — the job dropped or moved to its next time, and
//! audited — before anything is said or run, so a crash in between loses at
//! most that one reminder or post and never repeats it.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::actions::Actions;
use crate::floor::Floor;
use crate::model::Loaded;
use crate::store::{Commit, ConversationKey, Job, Post, Recurrence, Work};
use crate::RuntimeError;

mod posts;
mod reminders;

/// Later than this past its time, a reminder says it is late and a post
/// follows its schedule's `missed:` policy.
const LATE_AFTER: chrono::Duration = chrono::Duration::minutes(10);

pub(crate) struct Calendar {
    floor: Arc<Floor>,
    actions: Arc<Actions>,
}

impl Calendar {
    pub(crate) fn new(floor: Arc<Floor>, actions: Arc<Actions>) -> Calendar {
        Calendar { floor, actions }
    }

    /// Keeps one job per recurring schedule of the project, at its next time:
    /// a new schedule (or one whose expression or zone changed) is armed
    /// from now, a removed one forgotten. `jobs` is what the store keeps.
    pub(crate) async fn arm(&self, loaded: &Loaded, jobs: &[Job]) -> Result<(), RuntimeError> {
        let now = self.floor.now();
        let mut change = Commit::at(now);
        for schedule in loaded.project.schedules.values() {
            let id = Job::post_id(&schedule.name);
            let every = Recurrence {
                cron: schedule.every.expression().to_string(),
                zone: schedule.every.zone().name().to_string(),
            };
            let armed = jobs.iter().any(|job| {
                job.id() == id && matches!(&job.work, Work::Post(post) if post.every == every)
            });
            if armed {
                continue;
            }
            let Some(at) = schedule.every.next_after(now) else {
                tracing::warn!(schedule = %schedule.name, "the schedule never falls again");
                continue;
            };
            tracing::info!(schedule = %schedule.name, %at, "schedule armed");
            change.unschedule.push(id.clone());
            change.schedule.push(Job {
                key: posts_key(&schedule.name),
                work: Work::Post(Post {
                    id,
                    schedule: schedule.name.clone(),
                    at,
                    every,
                }),
            });
        }
        for job in jobs {
            if let Work::Post(post) = &job.work {
                if !loaded.project.schedules.contains_key(&post.schedule) {
                    tracing::info!(schedule = %post.schedule, "schedule removed from the project");
                    change.unschedule.push(job.id().to_string());
                }
            }
        }
        if change.schedule.is_empty() && change.unschedule.is_empty() {
            return Ok(());
        }
        let key = posts_key("");
        let kept = self.floor.store.load(&key)?;
        self.floor.commit(&key, &kept, change).await?;
        Ok(())
    }

    /// The job as the store keeps it now, if it is still there and due (it
    /// may have fired from an earlier wake-up, or been cancelled or moved).
    fn still_due(&self, job: &Job) -> Result<Option<Job>, RuntimeError> {
        let now = self.floor.now();
        Ok(self
            .floor
            .store
            .job(job.id())?
            .filter(|j| j.due_at() <= now))
    }
}

/// The key a schedule's post job is kept under: not a person's conversation,
/// so the post runs in a worker of its own.
fn posts_key(schedule: &str) -> ConversationKey {
    ConversationKey::new("schedules", schedule)
}

/// The next time of a recurrence after `after`, if it still falls.
fn next_time(every: &Recurrence, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let zone = opsbot_spec::types::parse_zone(&every.zone)?;
    opsbot_spec::cron::Every::parse(&every.cron, zone)
        .ok()?
        .next_after(after)
}
