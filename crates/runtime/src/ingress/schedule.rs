//! Scheduled requests through the ingress: each due one is stepped in its
//! requester's worker, so it keeps its place among their messages.

use chrono::{DateTime, Utc};

use super::{failed, Ingress};
use crate::command::schedule::cancel_as_operator;
use crate::key::ConversationKey;
use crate::store::Job;
use crate::RuntimeError;

impl Ingress {
    /// Hands each scheduled request that is due to its requester's
    /// conversation, in that conversation's worker (after what it is doing),
    /// and returns what was said, by conversation. The scheduler's worker
    /// sends it through the chat port; the shell and transcripts show it.
    pub async fn fire_due(&self) -> Result<Vec<(ConversationKey, String)>, RuntimeError> {
        let services = self.services()?;
        let now = services.floor.now();
        let due: Vec<Job> = services
            .floor
            .store
            .jobs()?
            .into_iter()
            .filter(|job| job.due_at() <= now)
            .collect();
        let mut said = Vec::new();
        for job in due {
            let key = job.key.clone();
            let worker = services.clone();
            let mut replies: Vec<String> = Vec::new();
            let mut collect = |text: String| replies.push(text);
            self.in_worker(
                key.clone(),
                false,
                &mut collect,
                move |mut sink| async move {
                    let loaded = worker.model.snapshot();
                    if let Err(error) = worker
                        .conversations
                        .due(&loaded, &job.key, &job, &mut *sink)
                        .await
                    {
                        failed(&error, &mut *sink);
                    }
                    drop(worker);
                },
            )
            .await;
            said.extend(replies.into_iter().map(|text| (key.clone(), text)));
        }
        Ok(said)
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

    /// When the next scheduled request is due, if any.
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>, RuntimeError> {
        let services = self.services()?;
        Ok(services.floor.store.jobs()?.first().map(Job::due_at))
    }
}
