//! One alert group in one room: the latest state of each of its alerts, the
//! text the room should show, and the message that shows it. A room gets one
//! message per group, edited as alerts fire and resolve; a group that fires
//! again after it was resolved (and said so) starts a new message.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::event::{AlertEvent, AlertEventKind};
use super::notification::{AlertStatus, Labels, Notification};
use super::text::{clean, span};
use crate::chat::MessageHandle;

/// Instances named in a message before "and N more".
const NAMED_INSTANCES: usize = 3;
/// Characters of a summary shown (the rest is in the alert source).
const SUMMARY_CHARS: usize = 300;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackedAlert {
    pub labels: Labels,
    pub annotations: Labels,
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertGroup {
    pub room: String,
    pub group_key: String,
    /// The route that brought it here.
    pub route: String,
    /// By fingerprint.
    pub alerts: BTreeMap<String, TrackedAlert>,
    pub opened_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What the room should show now.
    pub text: String,
    /// What the room shows (the text last sent or edited in), if anything.
    pub delivered: Option<String>,
    /// The message showing this group, once sent.
    pub message: Option<MessageHandle>,
    /// Requests made about this incident that ran, oldest first.
    #[serde(default)]
    pub acted: Vec<Acted>,
    /// When its own message was first posted (counts towards its route's
    /// rate limit).
    #[serde(default)]
    pub posted_at: Option<DateTime<Utc>>,
    /// The digest (its group key) that tells this group instead of a
    /// message of its own.
    #[serde(default)]
    pub in_digest: Option<String>,
    /// Set on a digest: one message for groups held by a rate limit or
    /// quiet hours.
    #[serde(default)]
    pub digest: Option<Digest>,
    /// The route's summary line template (`opsbot_spec::AlertRoute::summary`).
    #[serde(default)]
    pub summary_template: Option<String>,
}

/// What a digest message stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Digest {
    /// Its first line: why these groups are held.
    pub title: String,
    /// Member group ids ([`AlertGroup::id`]), in the order they joined.
    pub members: Vec<String>,
    /// Not posted before this time (quiet hours); `None`: at once.
    pub hold_until: Option<DateTime<Utc>>,
}

/// Group keys of digests start with this, apart from any sender's keys.
pub const DIGEST_PREFIX: &str = "opsbot:digest:";
/// Members listed in a digest before "and N more".
const DIGEST_LINES: usize = 20;

/// Someone acted on an alert: who, what (the dialog's description), how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acted {
    pub who: String,
    pub what: String,
    pub succeeded: bool,
}

/// Actions named on an alert's message before "and N more".
const NAMED_ACTIONS: usize = 3;

impl AlertGroup {
    /// The store key of a group in a room.
    pub fn id(room: &str, group_key: &str) -> String {
        format!("{room}\u{0}{group_key}")
    }

    pub fn new(
        room: &str,
        route: &str,
        notification: &Notification,
        now: DateTime<Utc>,
    ) -> AlertGroup {
        let mut group = AlertGroup::blank(room, &notification.group_key, route, now);
        group.merge(notification, now);
        group
    }

    /// Takes in a notification's alerts; returns whether the room's text
    /// changed (a redelivery of the same state changes nothing).
    pub fn merge(&mut self, notification: &Notification, now: DateTime<Utc>) -> bool {
        let fires = notification
            .alerts
            .iter()
            .any(|a| a.status == AlertStatus::Firing);
        if fires && self.is_resolved() && self.delivered.as_ref() == Some(&self.text) {
            // The room was told this group is resolved: a new incident, a new message.
            self.alerts.clear();
            self.acted.clear();
            self.posted_at = None;
            self.in_digest = None;
            self.message = None;
            self.delivered = None;
            self.opened_at = now;
        }
        for alert in &notification.alerts {
            let identity = alert.identity();
            // A sender that reports only "now" (a generic hook) keeps the
            // time the alert first fired.
            let starts_at = match self.alerts.get(&identity) {
                Some(known) => known.starts_at.min(alert.starts_at),
                None => alert.starts_at,
            };
            // Labels are what an alert is (Alertmanager's fingerprint hashes
            // them): within one incident a fingerprint keeps the labels it
            // came with, so a re-sent fingerprint cannot move "it", or a
            // request's link, to another host.
            let labels = match self.alerts.get(&identity) {
                Some(known) if known.labels != alert.labels => {
                    tracing::warn!(group = %self.group_key, fingerprint = %identity, "an alert came again with other labels; its first labels are kept");
                    known.labels.clone()
                }
                _ => alert.labels.clone(),
            };
            self.alerts.insert(
                identity,
                TrackedAlert {
                    labels,
                    annotations: alert.annotations.clone(),
                    firing: alert.status == AlertStatus::Firing,
                    starts_at,
                    ends_at: alert.ended(),
                },
            );
        }
        let text = self.render();
        if text == self.text {
            return false;
        }
        self.text = text;
        self.updated_at = now;
        true
    }

    /// The alerts of `notification` that fire or resolve anew against this
    /// group's state (a redelivery gives none), for the timeline.
    pub fn transitions(&self, notification: &Notification) -> Vec<AlertEvent> {
        let group = AlertGroup::id(&self.room, &self.group_key);
        notification
            .alerts
            .iter()
            .filter_map(|alert| {
                let firing = alert.status == AlertStatus::Firing;
                let known = self.alerts.get(&alert.identity());
                let before = known.map(|a| a.firing);
                // A known alert is told by the labels it came with (see `merge`).
                let labels = known.map_or(&alert.labels, |a| &a.labels);
                let kind = match (before, firing) {
                    (None | Some(false), true) => AlertEventKind::Fired,
                    (None | Some(true), false) => AlertEventKind::Resolved,
                    _ => return None,
                };
                let at = match kind {
                    AlertEventKind::Resolved => alert.ended().unwrap_or(alert.starts_at),
                    _ => alert.starts_at,
                };
                let name = clean(labels.get("alertname").map_or("alert", String::as_str));
                let subject = match labels.get("instance") {
                    Some(instance) => format!("{name} on {}", host(instance)),
                    None => name,
                };
                Some(AlertEvent {
                    at,
                    room: self.room.clone(),
                    group: group.clone(),
                    kind,
                    subject,
                    by: None,
                    detail: alert
                        .annotations
                        .get("summary")
                        .map(|s| clean(s).chars().take(SUMMARY_CHARS).collect())
                        .unwrap_or_default(),
                })
            })
            .collect()
    }

    /// Uses a route's summary template (re-rendering the text); returns
    /// whether the text changed.
    pub fn set_summary_template(&mut self, template: Option<String>) -> bool {
        if self.summary_template == template {
            return false;
        }
        self.summary_template = template;
        let text = self.render();
        let changed = text != self.text;
        self.text = text;
        changed
    }

    /// Records an action taken about this incident; returns whether the
    /// room's text changed.
    pub fn note_action(&mut self, acted: Acted, now: DateTime<Utc>) -> bool {
        self.acted.push(acted);
        let text = self.render();
        let changed = text != self.text;
        self.text = text;
        self.updated_at = now;
        changed
    }

    /// A group with nothing in it yet.
    fn blank(room: &str, group_key: &str, route: &str, now: DateTime<Utc>) -> AlertGroup {
        AlertGroup {
            room: room.to_string(),
            group_key: group_key.to_string(),
            route: route.to_string(),
            alerts: BTreeMap::new(),
            opened_at: now,
            updated_at: now,
            text: String::new(),
            delivered: None,
            message: None,
            acted: Vec::new(),
            posted_at: None,
            in_digest: None,
            digest: None,
            summary_template: None,
        }
    }

    /// An empty digest for `room`, keyed `key` (after [`DIGEST_PREFIX`]).
    pub fn new_digest(
        room: &str,
        route: &str,
        key: &str,
        title: String,
        hold_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> AlertGroup {
        AlertGroup {
            digest: Some(Digest {
                title,
                members: Vec::new(),
                hold_until,
            }),
            ..AlertGroup::blank(room, &format!("{DIGEST_PREFIX}{key}"), route, now)
        }
    }

    /// A digest's text from its members as they are now: the title, then
    /// each member's first line.
    pub fn render_digest(&mut self, members: &[&AlertGroup], now: DateTime<Utc>) -> bool {
        let Some(digest) = &self.digest else {
            return false;
        };
        let mut lines = vec![format!("{} ({} alert groups)", digest.title, members.len())];
        for member in members.iter().take(DIGEST_LINES) {
            lines.push(format!("• {}", member.text.lines().next().unwrap_or("")));
        }
        if members.len() > DIGEST_LINES {
            lines.push(format!(
                "… and {} more (`opsbot alerts` lists them)",
                members.len() - DIGEST_LINES
            ));
        }
        let text = lines.join("\n");
        let changed = text != self.text;
        if changed {
            self.text = text;
            self.updated_at = now;
        }
        changed
    }

    /// The most urgent severity among the alerts shown (index into
    /// [`opsbot_spec::alerts::SEVERITIES`]), `None` when none has a known one.
    pub fn severity(&self) -> Option<usize> {
        self.shown()
            .iter()
            .filter_map(|a| a.labels.get("severity"))
            .filter_map(|s| opsbot_spec::alerts::severity_rank(s))
            .max()
    }

    /// What people call it: the alert names in it ("ApacheDown").
    pub fn name(&self) -> String {
        if let Some(digest) = &self.digest {
            return digest.title.clone();
        }
        distinct(self.shown().iter().map(|a| label(a, "alertname", "alert"))).join(", ")
    }

    /// The alerts the room is told about: those firing, or all once resolved.
    fn shown(&self) -> Vec<&TrackedAlert> {
        if self.is_resolved() {
            self.alerts.values().collect()
        } else {
            self.alerts.values().filter(|a| a.firing).collect()
        }
    }

    /// Slot values for a request about this group, from the route's
    /// templates: a slot gets a value only when every alert shown agrees on
    /// it ("restart it" about web-01 and web-02 asks which host).
    pub fn slot_values(&self, route: &opsbot_spec::AlertRoute) -> BTreeMap<String, String> {
        let shown = self.shown();
        let mut values = BTreeMap::new();
        for (slot, template) in &route.slots {
            let rendered: Vec<Option<String>> = shown
                .iter()
                .map(|a| {
                    // Only trimmed: `web-01\0` is refused when checked, not
                    // cleaned into `web-01`.
                    template
                        .render(&a.labels, &a.annotations)
                        .map(|v| v.trim().to_string())
                })
                .collect();
            if let Some(Some(first)) = rendered.first() {
                if rendered.iter().all(|v| v.as_ref() == Some(first)) {
                    values.insert(slot.clone(), first.clone());
                }
            }
        }
        values
    }

    /// Whether active `mutes` cover every alert the room would be told of.
    pub fn is_muted_by(&self, mutes: &[super::Mute]) -> bool {
        let shown = self.shown();
        !shown.is_empty() && shown.iter().all(|a| mutes.iter().any(|m| m.matches(a)))
    }

    pub fn firing(&self) -> usize {
        self.alerts.values().filter(|a| a.firing).count()
    }

    pub fn is_resolved(&self) -> bool {
        !self.alerts.is_empty() && self.firing() == 0
    }

    /// Whether the room does not show the current text yet.
    pub fn needs_delivery(&self) -> bool {
        self.delivered.as_ref() != Some(&self.text)
    }

    /// The room's text: what fires (or resolved), where, how bad, and why.
    pub fn render(&self) -> String {
        let resolved = self.is_resolved();
        let shown = self.shown();
        let names = distinct(shown.iter().map(|a| label(a, "alertname", "alert")));
        let hosts = distinct(
            shown
                .iter()
                .filter_map(|a| a.labels.get("instance").map(|i| host(i))),
        );
        let mut line = if resolved {
            format!("✅ RESOLVED {}", names_text(&names))
        } else {
            format!("🔥 FIRING {}", names_text(&names))
        };
        if !hosts.is_empty() {
            line.push_str(&format!(" on {}", names_text(&hosts)));
        }
        if resolved {
            let first = self.alerts.values().map(|a| a.starts_at).min();
            let last = self.alerts.values().filter_map(|a| a.ends_at).max();
            let mut notes = Vec::new();
            if let (Some(first), Some(last)) = (first, last) {
                notes.push(format!("after {}", span(last - first)));
            }
            if let Some(acted) = self.acted.iter().rev().find(|a| a.succeeded) {
                notes.push(format!("{} by {}", acted.what, acted.who));
            }
            if !notes.is_empty() {
                line.push_str(&format!(" ({})", notes.join("; ")));
            }
        } else {
            let worst = shown
                .iter()
                .filter_map(|a| a.labels.get("severity"))
                .max_by_key(|s| opsbot_spec::alerts::severity_rank(s).map_or(0, |r| r + 1));
            if let Some(severity) = worst {
                line.push_str(&format!(" (severity: {})", clean(severity)));
            }
            let total = self.alerts.len();
            if total > 1 {
                let firing = self.firing();
                if firing == total {
                    line.push_str(&format!(" — {total} alerts in group"));
                } else {
                    line.push_str(&format!(" — {firing} of {total} alerts firing"));
                }
            }
        }
        let mut lines = vec![line];
        let custom = self.summary_template.as_deref().and_then(|text| {
            let template = opsbot_spec::alerts::LabelTemplate::parse(text).ok()?;
            shown
                .iter()
                .find_map(|a| template.render(&a.labels, &a.annotations))
        });
        if let Some(line) = custom {
            lines.push(clean(&line).chars().take(SUMMARY_CHARS).collect());
        } else if let Some(summary) = shown.iter().find_map(|a| {
            a.annotations
                .get("summary")
                .or_else(|| a.annotations.get("description"))
        }) {
            let summary: String = clean(summary).chars().take(SUMMARY_CHARS).collect();
            lines.push(format!("summary: {summary}"));
        }
        if let Some(url) = shown.iter().find_map(|a| a.annotations.get("runbook_url")) {
            lines.push(format!("runbook: {}", clean(url)));
        }
        if !self.acted.is_empty() && !resolved {
            let mut done: Vec<String> = self
                .acted
                .iter()
                .rev()
                .take(NAMED_ACTIONS)
                .map(|a| {
                    let how = if a.succeeded { "" } else { " (failed)" };
                    format!("{} by {}{how}", a.what, a.who)
                })
                .collect();
            done.reverse();
            lines.push(format!("acted: {}", done.join("; ")));
        }
        lines.join("\n")
    }
}

fn label(alert: &TrackedAlert, name: &str, default: &str) -> String {
    clean(alert.labels.get(name).map_or(default, String::as_str))
}

/// `web-01:9100` → `web-01` (an `instance` label names a scrape target).
fn host(instance: &str) -> String {
    opsbot_spec::alerts::host_of(&clean(instance)).to_string()
}

fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn names_text(names: &[String]) -> String {
    match names.len() {
        0 => String::new(),
        1 => names[0].clone(),
        n if n <= NAMED_INSTANCES => {
            format!("{} and {}", names[..n - 1].join(", "), names[n - 1])
        }
        n => format!(
            "{} and {} more",
            names[..NAMED_INSTANCES].join(", "),
            n - NAMED_INSTANCES
        ),
    }
}

#[cfg(test)]
mod tests;
