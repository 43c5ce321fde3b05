//! Scheduled work through the ingress: each due job is handled in its own
//! conversation's worker, so it keeps its place among that conversation's
//! messages — a request for later in its requester's conversation, a
//! reminder in the conversation that asked for it, a post in its schedule's.
//!
//! What a job says is passed on as it is said, not after every due job has
//! run: the job is forgotten in the commit that runs it, so a message held
//! back while later jobs run would be lost to a crash in between, and its
//! requester would never hear that their change ran.

use chrono::{DateTime, Utc};

use super::{failed, Ingress};
use crate::chat::Outbound;
use crate::command::schedule::cancel_as_operator;
use crate::store::{Job, Work};
use crate::RuntimeError;

impl Ingress {
    /// Arms the project's recurring schedules, then hands each job that is
    /// due to its worker, and returns what was said, by room (for doors
    /// without a chat port: the shell and transcripts show it).
    pub async fn fire_due(&self) -> Result<Vec<Outbound>, RuntimeError> {
        let mut said = Vec::new();
        self.fire_due_into(&mut |message| said.push(message))
            .await?;
        Ok(said)
    }

    /// [`Ingress::fire_due`] passing each message to `say` as soon as its
    /// job says it (the scheduler's worker sends it through the chat port
    /// while the next job runs).
    pub async fn fire_due_into(
        &self,
        say: &mut (dyn FnMut(Outbound) + Send),
    ) -> Result<(), RuntimeError> {
        let services = self.services()?;
        let loaded = services.model.snapshot();
        let jobs = services.floor.store.jobs()?;
        services.calendar.arm(&loaded, &jobs).await?;
        let now = services.floor.now();
        let due: Vec<Job> = jobs.into_iter().filter(|job| job.due_at() <= now).collect();
        for job in due {
            let key = job.key.clone();
            let kind = match &job.work {
                Work::Request(_) => "request",
                Work::Reminder(_) => "reminder",
                Work::Post(_) => "post",
            };
            services
                .floor
                .metrics
                .scheduled
                .with_label_values(&[kind])
                .inc();
            let worker = services.clone();
            let mut said = |text: String| {
                say(Outbound {
                    room: key.room.clone(),
                    text,
                    mention: Some(key.user.clone()),
                })
            };
            let posted = self
                .in_worker(
                    job.key.clone(),
                    false,
                    &mut said,
                    move |mut sink| async move {
                        let loaded = worker.model.snapshot();
                        let fired = match &job.work {
                            Work::Request(_) => worker
                                .conversations
                                .due(&loaded, &job.key, &job, &mut *sink)
                                .await
                                .map(|_| Vec::new()),
                            Work::Reminder(_) => worker.calendar.remind(&loaded, &job).await,
                            Work::Post(_) => worker.calendar.post(&loaded, &job).await,
                        };
                        match fired {
                            Ok(posted) => posted,
                            Err(error) => {
                                failed(&error, &mut *sink);
                                Vec::new()
                            }
                        }
                    },
                )
                .await
                .unwrap_or_default();
            for message in posted {
                say(message);
            }
        }
        Ok(())
    }

    /// Cancels the scheduled request `id` as the operator `by` (see
    /// [`crate::command::schedule::cancel_as_operator`]) in its requester's
    /// worker, so it is neither run nor written at the same time; `None`
    /// when no request has that id.
    pub async fn cancel_scheduled(&self, id: &str, by: &str) -> Result<Option<Job>, RuntimeError> {
        let services = self.services()?;
        let Some(job) = services.floor.store.job(id)? else {
            return Ok(None);
        };
        let (worker, id, by) = (services.clone(), id.to_string(), by.to_string());
        let mut silent = |_: String| {};
        self.in_worker(
            job.key.clone(),
            false,
            &mut silent,
            move |_sink| async move {
                let loaded = worker.model.snapshot();
                let now = worker.floor.now();
                let floor = worker.floor.clone();
                drop(worker);
                floor
                    .blocking(move |store| {
                        cancel_as_operator(store, &loaded.project.settings, &id, &by, now)
                    })
                    .await
            },
        )
        .await
        .unwrap_or_else(|| {
            Err(RuntimeError::Internal(
                "the cancellation was dropped".into(),
            ))
        })
    }

    /// When the next scheduled job is due, if any.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, RuntimeError> {
        let services = self.services()?;
        Ok(services.floor.store.jobs()?.first().map(Job::due_at))
    }
}
