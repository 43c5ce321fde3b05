//! The bot's side of pushed alerts: accepting a notification (routed, merged,
//! stored durably before the sender is answered) and the one worker that
//! brings rooms up to date through the chat port, in order, retrying while
//! the homeserver is away. See [`crate::alerts`].

use std::future::Future;
use std::time::Duration;

use opsbot_dialog::{ActionOutcome, AlertContext, Request};

use super::{Bot, Loaded};
use crate::alerts::{Acted, AlertGroup, AlertReceipt, Notification};
use crate::chat::Outbound;
use crate::key::ConversationKey;
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

impl Bot {
    /// Routes a notification to rooms and merges it into each room's group,
    /// stored (flushed) before returning: once the sender hears "accepted",
    /// a crash loses nothing. The delivery worker is woken for the rooms
    /// whose message must change.
    pub async fn accept_alerts(
        &self,
        notification: &Notification,
    ) -> Result<AlertReceipt, RuntimeError> {
        let loaded = self.loaded();
        let Some(settings) = &loaded.project.settings.alerts else {
            return Ok(AlertReceipt::default());
        };
        if notification.alerts.is_empty() {
            // Nothing to tell (parsing refuses it; a caller may not have parsed).
            return Ok(AlertReceipt::default());
        }
        // Alertmanager groups by labels its alerts share: route on those.
        let labels = if notification.common_labels.is_empty() {
            &notification.group_labels
        } else {
            &notification.common_labels
        };
        let mut rooms: Vec<(&str, &opsbot_spec::AlertRoute)> = Vec::new();
        for route in settings.routes_for(labels) {
            for room in &route.rooms {
                if !rooms.iter().any(|(r, _)| r == room) {
                    rooms.push((room, route));
                }
            }
        }
        if rooms.is_empty() {
            tracing::info!(group = %notification.group_key, "no route takes this alert group");
            return Ok(AlertReceipt::default());
        }
        let _merging = self.alert_lock.lock().await;
        let now = self.now();
        let mut changed = Vec::new();
        let mut events = Vec::new();
        for (room, route) in &rooms {
            let id = AlertGroup::id(room, &notification.group_key);
            match self.store.alert_group(&id)? {
                Some(mut group) => {
                    events.extend(group.transitions(notification));
                    let restyled = group.set_summary_template(route.summary.clone());
                    if group.merge(notification, now) || restyled {
                        // Came and went while muted: the room is not told
                        // (decided here, as it happens, not when delivery
                        // gets to it).
                        if group.message.is_none() && group.is_resolved() {
                            let mutes: Vec<_> = self
                                .store
                                .mutes_in(room)?
                                .into_iter()
                                .filter(|m| m.active(now))
                                .collect();
                            if group.is_muted_by(&mutes) {
                                group.delivered = Some(group.text.clone());
                            }
                        }
                        changed.push(group);
                    }
                }
                None => {
                    let mut group = AlertGroup::new(room, &route.name, notification, now);
                    group.set_summary_template(route.summary.clone());
                    let before = AlertGroup {
                        alerts: Default::default(),
                        ..group.clone()
                    };
                    events.extend(before.transitions(notification));
                    changed.push(group);
                }
            }
        }
        let receipt = AlertReceipt {
            rooms: rooms.len(),
            changed: changed.len(),
        };
        if !changed.is_empty() || !events.is_empty() {
            let store = self.store.clone();
            self.blocking(move || store.save_alerts(&changed, &events))
                .await?;
            self.alerts_pending.notify_one();
        }
        tracing::info!(group = %notification.group_key, rooms = receipt.rooms, changed = receipt.changed, alerts = notification.alerts.len(), "alert notification accepted");
        Ok(receipt)
    }

    /// The alert a message in `room` is about: the group whose message it
    /// answers (none once resolved: a finished alert gives no values), or
    /// else the one group still firing there, if it changed within
    /// `alerts.context_window`; with the values its route gives. When more
    /// than one group fires in the room, a message outside their threads is
    /// about none of them: they come back as the open alerts to ask about.
    pub(super) fn alert_context(
        &self,
        loaded: &Loaded,
        room: &str,
        replying_to: Option<&str>,
    ) -> Result<(Option<AlertContext>, Vec<AlertContext>), RuntimeError> {
        let Some(settings) = &loaded.project.settings.alerts else {
            return Ok((None, Vec::new()));
        };
        let mut groups = self.store.alert_groups_in(room)?;
        groups.retain(|g| g.digest.is_none());
        let context = |group: &AlertGroup| {
            let route = settings.routes.iter().find(|r| r.name == group.route)?;
            Some(AlertContext {
                id: AlertGroup::id(&group.room, &group.group_key),
                name: group.name(),
                values: group.slot_values(route),
            })
        };
        if let Some(id) = replying_to {
            let answered = groups
                .iter()
                .find(|g| g.message.as_ref().is_some_and(|m| m.id == id))
                .filter(|g| !g.is_resolved());
            return Ok((answered.and_then(context), Vec::new()));
        }
        let window = chrono::Duration::from_std(settings.context_window).unwrap_or_default();
        let now = self.now();
        let mut open: Vec<&AlertGroup> = groups
            .iter()
            .filter(|g| !g.is_resolved() && g.message.is_some())
            .collect();
        open.sort_by_key(|g| std::cmp::Reverse(g.updated_at));
        match open.as_slice() {
            [] => Ok((None, Vec::new())),
            [one] if now - one.updated_at <= window => Ok((context(one), Vec::new())),
            [_] => Ok((None, Vec::new())),
            several if several.iter().any(|g| now - g.updated_at <= window) => {
                Ok((None, several.iter().filter_map(|g| context(g)).collect()))
            }
            _ => Ok((None, Vec::new())),
        }
    }

    /// Tells the alert's room who acted on it: the group's message names
    /// the action (and, once resolved, who resolved it).
    pub(super) async fn note_action_on_alert(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        request: &Request,
        outcome: &ActionOutcome,
    ) -> Result<(), RuntimeError> {
        let Some(link) = &request.alert else {
            return Ok(());
        };
        let _merging = self.alert_lock.lock().await;
        let Some(mut group) = self.store.alert_group(&link.id)? else {
            return Ok(());
        };
        let settings = &loaded.project.settings;
        let what = loaded
            .project
            .dialogs
            .get(&request.dialog)
            .map_or_else(|| request.dialog.clone(), |d| d.description.clone());
        let acted = Acted {
            who: settings.person_of(&key.user).to_string(),
            what,
            succeeded: outcome.succeeded,
        };
        if group.note_action(acted, self.now()) {
            let store = self.store.clone();
            self.blocking(move || store.save_alerts(&[group], &[]))
                .await?;
            self.alerts_pending.notify_one();
        }
        Ok(())
    }

    /// Delivers alert groups until `shutdown`: woken by each accepted change
    /// (and when a chat port is attached), retrying with backoff while
    /// sending fails. One worker, so one group's messages keep their order.
    pub async fn deliver_alerts(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut retry = FIRST_RETRY;
        let mut timed_out = false;
        loop {
            let wait = match self.deliver_pending_alerts().await {
                Ok(true) => {
                    retry = FIRST_RETRY;
                    IDLE_CHECK
                }
                Ok(false) => {
                    // Only a retry that failed again backs off further: a
                    // wake-up for new alerts is no sign the homeserver is
                    // further away.
                    if timed_out {
                        retry = (retry * 2).min(MAX_RETRY);
                    }
                    retry
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot read alert groups to deliver");
                    MAX_RETRY
                }
            };
            timed_out = false;
            tokio::select! {
                () = &mut shutdown => return,
                () = self.alerts_pending.notified() => {}
                () = tokio::time::sleep(wait) => timed_out = true,
            }
        }
    }

    /// Forgets groups the rooms were told about that ended (resolved, or
    /// digests) more than [`ALERT_RETENTION`] ago; their timeline stays.
    async fn forget_old_alert_groups(&self) -> Result<(), RuntimeError> {
        let cut = self.now() - ALERT_RETENTION;
        let old: Vec<String> = self
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
            let store = self.store.clone();
            self.blocking(move || store.remove_alert_groups(&old))
                .await?;
        }
        Ok(())
    }

    /// Sends or edits every group whose room is behind, oldest change first;
    /// `false` when a delivery failed (the rest wait for the retry, so order
    /// is kept) or no chat port is attached yet.
    async fn deliver_pending_alerts(&self) -> Result<bool, RuntimeError> {
        let mut pending: Vec<AlertGroup> = self
            .store
            .alert_groups()?
            .into_iter()
            .filter(AlertGroup::needs_delivery)
            .collect();
        if pending.is_empty() {
            self.forget_old_alert_groups().await?;
            return Ok(true);
        }
        let Some(chat) = self.chat.read().expect("chat lock").clone() else {
            return Ok(false);
        };
        // Digest members first (they change their digest), digests last.
        pending.sort_by_key(|g| (g.digest.is_some(), g.in_digest.is_none(), g.updated_at));
        let now = self.now();
        let mut holds = super::holds::Holds::default();
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
                return Ok(false);
            };
            // The group may have changed while this was sent: record what
            // the room shows on the group as it is now.
            let _merging = self.alert_lock.lock().await;
            let id = AlertGroup::id(&group.room, &group.group_key);
            let mut current = self.store.alert_group(&id)?.unwrap_or(group.clone());
            if current.opened_at == group.opened_at {
                if current.posted_at.is_none() && current.digest.is_none() {
                    current.posted_at = Some(now);
                    holds.posted(&current);
                }
                current.message = Some(handle);
                current.delivered = Some(text);
                let store = self.store.clone();
                self.blocking(move || store.save_alerts(&[current], &[]))
                    .await?;
            }
        }
        Ok(true)
    }
}
