//! The alert desk: accepting a notification (routed, merged, stored durably
//! before the sender is answered), the alert a message is about, who acted
//! on an alert, mutes (`mutes.rs`), holds and digests (`holds.rs`), and the
//! one worker that brings rooms up to date through the chat port
//! (`delivery.rs`). See [`crate::alerts`] for the groups themselves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use opsbot_dialog::{ActionOutcome, AlertContext, Request};

use crate::alerts::{Acted, AlertGroup, AlertReceipt, Notification};
use crate::floor::Floor;
use crate::key::ConversationKey;
use crate::model::{Loaded, Model};
use crate::RuntimeError;

mod delivery;
mod holds;
mod mutes;

pub struct AlertDesk {
    floor: Arc<Floor>,
    model: Arc<Model>,
    /// Serialises merging alert notifications into groups and recording
    /// their delivery, so neither overwrites the other.
    lock: tokio::sync::Mutex<()>,
    /// Wakes the delivery worker.
    pending: tokio::sync::Notify,
    /// Mutes waiting for their speaker's "yes" (see `mutes.rs`).
    pending_mutes: Mutex<HashMap<ConversationKey, mutes::PendingMute>>,
}

impl AlertDesk {
    pub(crate) fn new(floor: Arc<Floor>, model: Arc<Model>) -> AlertDesk {
        AlertDesk {
            floor,
            model,
            lock: tokio::sync::Mutex::new(()),
            pending: tokio::sync::Notify::new(),
            pending_mutes: Mutex::new(HashMap::new()),
        }
    }

    /// Wakes the delivery worker: a chat port was attached, or the clock
    /// moved (timed holds may have ended).
    pub fn wake(&self) {
        self.pending.notify_one();
    }

    /// Routes a notification to rooms and merges it into each room's group,
    /// stored (flushed) before returning: once the sender hears "accepted",
    /// a crash loses nothing. The delivery worker is woken for the rooms
    /// whose message must change.
    pub async fn accept(&self, notification: &Notification) -> Result<AlertReceipt, RuntimeError> {
        let loaded = self.model.snapshot();
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
        let _merging = self.lock.lock().await;
        let now = self.floor.now();
        let mut changed = Vec::new();
        let mut events = Vec::new();
        for (room, route) in &rooms {
            let id = AlertGroup::id(room, &notification.group_key);
            match self.floor.store.alert_group(&id)? {
                Some(mut group) => {
                    events.extend(group.transitions(notification));
                    let restyled = group.set_summary_template(route.summary.clone());
                    if group.merge(notification, now) || restyled {
                        // Came and went while muted: the room is not told
                        // (decided here, as it happens, not when delivery
                        // gets to it).
                        if group.message.is_none() && group.is_resolved() {
                            let mutes: Vec<_> = self
                                .floor
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
            self.floor
                .blocking(move |store| store.save_alerts(&changed, &events))
                .await?;
            self.pending.notify_one();
        }
        tracing::info!(group = %notification.group_key, rooms = receipt.rooms, changed = receipt.changed, alerts = notification.alerts.len(), "alert notification accepted");
        let status = match notification.status {
            crate::alerts::AlertStatus::Firing => "firing",
            crate::alerts::AlertStatus::Resolved => "resolved",
        };
        self.floor
            .metrics
            .alert_notifications
            .with_label_values(&[status])
            .inc();
        Ok(receipt)
    }

    /// The alert a message in `room` is about: the group whose message it
    /// answers (none once resolved: a finished alert gives no values), or
    /// else the one group still firing there, if it changed within
    /// `alerts.context_window`; with the values its route gives. When more
    /// than one group fires in the room, a message outside their threads is
    /// about none of them: they come back as the open alerts to ask about.
    pub(crate) fn context(
        &self,
        loaded: &Loaded,
        room: &str,
        replying_to: Option<&str>,
    ) -> Result<(Option<AlertContext>, Vec<AlertContext>), RuntimeError> {
        let Some(settings) = &loaded.project.settings.alerts else {
            return Ok((None, Vec::new()));
        };
        let mut groups = self.floor.store.alert_groups_in(room)?;
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
        let now = self.floor.now();
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
    pub(crate) async fn note_action(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        request: &Request,
        outcome: &ActionOutcome,
    ) -> Result<(), RuntimeError> {
        let Some(link) = &request.alert else {
            return Ok(());
        };
        let _merging = self.lock.lock().await;
        let Some(mut group) = self.floor.store.alert_group(&link.id)? else {
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
        if group.note_action(acted, self.floor.now()) {
            self.floor
                .blocking(move |store| store.save_alerts(&[group], &[]))
                .await?;
            self.pending.notify_one();
        }
        Ok(())
    }
}
