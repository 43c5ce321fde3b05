//! The one worker that brings rooms up to date with their alert groups
//! through the chat port: oldest change first, the first state as a message
//! and every later one as an edit, retrying with backoff while sending fails.

use std::future::Future;
use std::time::Duration;

use super::{holds, AlertDesk};
use crate::alerts::AlertGroup;
use crate::chat::Outbound;
use crate::retry::Backoff;
use crate::RuntimeError;

/// The first retry after a failed delivery; doubled up to [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(500);
const MAX_RETRY: Duration = Duration::from_secs(10);
/// How often the worker looks for undelivered groups when nothing wakes it.
/// (It also ends the hold of an expired mute, so keep it short.)
const IDLE_CHECK: Duration = Duration::from_secs(15);
/// How long a group that ended is kept (for `opsbot alerts --all` and replies
/// to its message) before it is forgotten; the timeline keeps its events.
const ALERT_RETENTION: chrono::Duration = chrono::Duration::days(7);

impl AlertDesk {
    /// Delivers alert groups until `shutdown`: woken by each accepted change
    /// (and when a chat port is attached), retrying with backoff while
    /// sending fails. One worker, so one group's messages keep their order.
    pub async fn deliver(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff = Backoff::new(FIRST_RETRY, MAX_RETRY);
        let mut timed_out = false;
        loop {
            let wait = match self.deliver_pending_alerts().await {
                Ok(true) => {
                    backoff.reset();
                    IDLE_CHECK
                }
                Ok(false) => {
                    // Only a retry that failed again backs off further: a
                    // wake-up for new alerts is no sign the homeserver is
                    // further away.
                    if timed_out {
                        backoff.next_wait();
                    }
                    backoff.peek()
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read alert groups to deliver");
                    MAX_RETRY
                }
            };
            timed_out = false;
            tokio::select! {
                () = &mut shutdown => return,
                () = self.pending.notified() => {}
                () = tokio::time::sleep(wait) => timed_out = true,
            }
        }
    }

    /// Forgets groups the rooms were told about that ended (resolved, or
    /// digests) more than [`ALERT_RETENTION`] ago; their timeline stays.
    async fn forget_old_alert_groups(&self) -> Result<(), RuntimeError> {
        let cut = self.floor.now() - ALERT_RETENTION;
        let old: Vec<String> = self
            .floor
            .store
            .alert_groups()?
            .into_iter()
            .filter(|g| !g.needs_delivery() && g.updated_at < cut)
            .filter(|g| g.is_resolved() || g.digest.is_some())
            .map(|g| AlertGroup::id(&g.room, &g.group_key))
            .collect();
        if !old.is_empty() {
            tracing::debug!(
                groups = old.len(),
                "forgetting alert groups that ended long ago"
            );
            self.floor
                .blocking(move |store| store.remove_alert_groups(&old))
                .await?;
        }
        Ok(())
    }

    /// Sends or edits every group whose room is behind, oldest change first;
    /// `false` when a delivery failed (the rest wait for the retry, so order
    /// is kept) or no chat port is attached yet.
    async fn deliver_pending_alerts(&self) -> Result<bool, RuntimeError> {
        let mut pending: Vec<AlertGroup> = self
            .floor
            .store
            .alert_groups()?
            .into_iter()
            .filter(AlertGroup::needs_delivery)
            .collect();
        if pending.is_empty() {
            self.forget_old_alert_groups().await?;
            return Ok(true);
        }
        let Some(chat) = self.floor.chat() else {
            return Ok(false);
        };
        // Digest members first (they change their digest), digests last.
        pending.sort_by_key(|g| (g.digest.is_some(), g.in_digest.is_none(), g.updated_at));
        let now = self.floor.now();
        let mut holds = holds::Holds::default();
        for group in pending {
            if group.in_digest.is_some() {
                self.refresh_digest_of(&group, now).await?;
                continue;
            }
            let waiting = group
                .digest
                .as_ref()
                .and_then(|d| d.hold_until)
                .is_some_and(|until| until > now);
            if waiting || group.digest.as_ref().is_some_and(|d| d.members.is_empty()) {
                continue;
            }
            if group.message.is_none()
                && group.digest.is_none()
                && self.hold(&group, now, &mut holds).await?
            {
                continue;
            }
            let text = group.text.clone();
            let handle = match &group.message {
                Some(handle) => chat
                    .edit(handle, text.clone())
                    .await
                    .then(|| handle.clone()),
                None => {
                    chat.send(Outbound {
                        room: group.room.clone(),
                        text: text.clone(),
                        mention: group
                            .digest
                            .is_none()
                            .then(|| self.mention_for(&group))
                            .flatten(),
                    })
                    .await
                }
            };
            let Some(handle) = handle else {
                tracing::warn!(room = %group.room, group = %group.group_key, "alert delivery failed; will retry");
                self.floor
                    .metrics
                    .alert_deliveries
                    .with_label_values(&["failed"])
                    .inc();
                return Ok(false);
            };
            self.floor
                .metrics
                .alert_deliveries
                .with_label_values(&["posted"])
                .inc();
            // The group may have changed while this was sent: record what
            // the room shows on the group as it is now.
            let _merging = self.lock.lock().await;
            let id = AlertGroup::id(&group.room, &group.group_key);
            let mut current = self.floor.store.alert_group(&id)?.unwrap_or(group.clone());
            if current.opened_at == group.opened_at {
                if current.posted_at.is_none() && current.digest.is_none() {
                    current.posted_at = Some(now);
                    holds.posted(&current);
                }
                current.message = Some(handle);
                current.delivered = Some(text);
                self.floor
                    .blocking(move |store| store.save_alerts(&[current], &[]))
                    .await?;
            }
        }
        Ok(true)
    }
}
