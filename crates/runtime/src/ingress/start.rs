//! What a door does when it starts, once for every door: old message ids
//! forgotten, the review inbox pruned, recurring posts armed, and actions a
//! previous process left running resolved in their conversations' workers;
//! then what those could not tell yet is delivered when asked.

use tokio::sync::oneshot;

use super::{Ingress, SIGHTINGS_KEPT};
use crate::key::ConversationKey;
use crate::reply::Reply;
use crate::RuntimeError;

impl Ingress {
    /// What every door does when it starts (after attaching its chat port,
    /// if it has one): forgets message ids older than a week, prunes the
    /// review inbox, and resolves actions a previous process left running —
    /// each in its conversation's worker, audited, and told in the room, or
    /// owed until the requester next writes. Returns the conversations that
    /// still owe notices.
    pub async fn start(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        let services = &self.services()?;
        let cut = services.floor.now() - SIGHTINGS_KEPT;
        let removed = services
            .floor
            .blocking(move |store| store.forget_sightings(cut))
            .await?;
        tracing::debug!(removed, "forgot old message ids");
        services.review.prune(&services.model.snapshot()).await;
        // Recurring posts are armed now, so "what is scheduled?" lists them
        // from the first message, before the scheduler's first look.
        let jobs = services.floor.store.jobs()?;
        services
            .calendar
            .arm(&services.model.snapshot(), &jobs)
            .await?;
        let mut waiting = Vec::new();
        for key in services.floor.store.executing_conversations()? {
            let (done, owed) = oneshot::channel();
            let (services, worker_key) = (services.clone(), key.clone());
            self.queues.push(key.clone(), async move {
                let loaded = services.model.snapshot();
                let resolved = services
                    .conversations
                    .resolve_interrupted(&loaded, &worker_key)
                    .await;
                drop(services);
                let _ = done.send(resolved);
            });
            waiting.push((key, owed));
        }
        let mut owed = Vec::new();
        for (key, still_owed) in waiting {
            let still_owed = still_owed
                .await
                .map_err(|_| RuntimeError::Internal("resolving an action was dropped".into()))??;
            if still_owed {
                owed.push(key);
            }
        }
        Ok(owed)
    }

    /// Says what `key` is owed (see [`Ingress::start`]) in its worker; a
    /// door with one person (the shell) calls it after starting.
    pub async fn deliver_owed(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let (services, worker_key) = (self.services()?, key.clone());
        self.in_worker(key.clone(), false, reply, move |mut sink| async move {
            let delivered = services
                .conversations
                .deliver_owed(&worker_key, &mut *sink)
                .await;
            // The services first: the sink's end may let a caller drop the
            // runtime.
            drop(services);
            delivered
        })
        .await
        .unwrap_or_else(|| {
            Err(RuntimeError::Internal(
                "delivering notices was dropped".into(),
            ))
        })
    }
}
