//! Prometheus Alertmanager's webhook body (version 4), as it arrives: a group
//! of alerts that share the route's grouping labels, each firing or resolved.
//! Alertmanager sends the whole group every time, so a receiver keeps the
//! latest state per alert fingerprint.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::text::{cap, MAX_ANNOTATION_CHARS, MAX_LABEL_CHARS};

pub type Labels = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub version: String,
    pub group_key: String,
    #[serde(default)]
    pub receiver: String,
    pub status: AlertStatus,
    #[serde(default)]
    pub group_labels: Labels,
    #[serde(default)]
    pub common_labels: Labels,
    #[serde(default)]
    pub common_annotations: Labels,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    pub alerts: Vec<Alert>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: Labels,
    #[serde(default)]
    pub annotations: Labels,
    pub starts_at: DateTime<Utc>,
    /// Alertmanager writes `0001-01-01T00:00:00Z` for an alert still firing.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

/// Why a well-formed JSON body is still not a notification we take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotificationError {
    #[error("webhook version `{0}` is not supported; expected Alertmanager's version 4")]
    Version(String),
    #[error("`groupKey` is empty; expected Alertmanager's group key")]
    NoGroupKey,
    #[error("the notification holds {0} alerts; at most {MAX_ALERTS} are taken in one group")]
    TooMany(usize),
    #[error("the notification holds no alerts; expected at least one in `alerts`")]
    NoAlerts,
    #[error("`groupKey` is {0} characters long; at most {MAX_KEY_CHARS} are taken")]
    LongGroupKey(usize),
    #[error("an alert's `fingerprint` is {0} characters long; at most {MAX_KEY_CHARS} are taken")]
    LongFingerprint(usize),
}

/// Characters of a group key or fingerprint: they identify, so they are
/// refused when longer rather than cut (two cut keys could collide).
pub const MAX_KEY_CHARS: usize = 1024;

/// Alerts one notification may carry (Alertmanager's `max_alerts` is unset
/// by default; a group beyond this is a misconfiguration, not a room message).
pub const MAX_ALERTS: usize = 1000;

impl Notification {
    /// Parses a webhook body; the error names what is wrong (line and column
    /// for JSON mistakes).
    pub fn parse(body: &[u8]) -> Result<Notification, String> {
        let notification: Notification = serde_json::from_slice(body)
            .map_err(|e| format!("the body is not an Alertmanager notification: {e}"))?;
        let mut notification = notification;
        notification.check().map_err(|e| e.to_string())?;
        notification.bound();
        Ok(notification)
    }

    /// Cuts every label and annotation to its length limit, with a marker
    /// (done where alerts come in, so nothing longer is stored or shown).
    pub fn bound(&mut self) {
        for labels in [&mut self.group_labels, &mut self.common_labels] {
            bound_map(labels, MAX_LABEL_CHARS);
        }
        bound_map(&mut self.common_annotations, MAX_ANNOTATION_CHARS);
        for alert in &mut self.alerts {
            bound_map(&mut alert.labels, MAX_LABEL_CHARS);
            bound_map(&mut alert.annotations, MAX_ANNOTATION_CHARS);
        }
    }

    pub fn check(&self) -> Result<(), NotificationError> {
        if self.version != "4" {
            return Err(NotificationError::Version(self.version.clone()));
        }
        if self.group_key.trim().is_empty() {
            return Err(NotificationError::NoGroupKey);
        }
        if self.alerts.len() > MAX_ALERTS {
            return Err(NotificationError::TooMany(self.alerts.len()));
        }
        if self.alerts.is_empty() {
            return Err(NotificationError::NoAlerts);
        }
        let long = |text: &str| text.chars().count() > MAX_KEY_CHARS;
        if long(&self.group_key) {
            return Err(NotificationError::LongGroupKey(
                self.group_key.chars().count(),
            ));
        }
        if let Some(alert) = self.alerts.iter().find(|a| long(&a.fingerprint)) {
            return Err(NotificationError::LongFingerprint(
                alert.fingerprint.chars().count(),
            ));
        }
        Ok(())
    }
}

/// Names and values (or annotation texts) cut to `max` characters each.
fn bound_map(map: &mut Labels, max: usize) {
    if map
        .iter()
        .all(|(k, v)| k.chars().count() <= max && v.chars().count() <= max)
    {
        return;
    }
    *map = std::mem::take(map)
        .into_iter()
        .map(|(mut name, mut value)| {
            cap(&mut name, MAX_LABEL_CHARS);
            cap(&mut value, max);
            (name, value)
        })
        .collect();
}

impl Alert {
    /// Alertmanager's fingerprint, or one computed from the labels when a
    /// sender leaves it out (the labels identify an alert).
    pub fn identity(&self) -> String {
        if !self.fingerprint.is_empty() {
            return self.fingerprint.clone();
        }
        let mut hasher = Sha256::new();
        for (name, value) in &self.labels {
            hasher.update(name.as_bytes());
            hasher.update([0]);
            hasher.update(value.as_bytes());
            hasher.update([0]);
        }
        hex::encode(&hasher.finalize()[..8])
    }

    /// When it ended, if it has (the zero time means "still firing").
    pub fn ended(&self) -> Option<DateTime<Utc>> {
        self.ends_at.filter(|at| at.timestamp() > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body as Alertmanager 0.25 posts it (captured from a real delivery).
    pub(crate) const SAMPLE: &str = r#"{"receiver":"opsbot","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"ApacheDown","instance":"web-01:80","severity":"critical"},"annotations":{"summary":"apache down"},"startsAt":"2026-11-25T10:00:00.000Z","endsAt":"0001-01-01T00:00:00Z","generatorURL":"","fingerprint":"3f2a9c1b7d6e5a40"}],"groupLabels":{"alertname":"ApacheDown"},"commonLabels":{"alertname":"ApacheDown","instance":"web-01:80","severity":"critical"},"commonAnnotations":{"summary":"apache down"},"externalURL":"http://127.0.0.1:9093","version":"4","groupKey":"{}:{alertname=\"ApacheDown\"}","truncatedAlerts":0}"#;

    #[test]
    fn an_alertmanager_body_parses() {
        let n = Notification::parse(SAMPLE.as_bytes()).unwrap();
        assert_eq!(n.status, AlertStatus::Firing);
        assert_eq!(n.alerts.len(), 1);
        assert_eq!(n.alerts[0].identity(), "3f2a9c1b7d6e5a40");
        assert_eq!(n.alerts[0].ended(), None, "the zero time is not an end");
    }

    #[test]
    fn wrong_bodies_are_refused_with_the_reason() {
        let error = Notification::parse(b"{\"version\": 4").unwrap_err();
        assert!(error.contains("line 1"), "{error}");
        let error = Notification::parse(SAMPLE.replace("\"4\"", "\"3\"").as_bytes()).unwrap_err();
        assert!(error.contains("version `3`"), "{error}");
        let error =
            Notification::parse(b"{\"version\":\"4\",\"groupKey\":\"k\",\"status\":\"firing\"}")
                .unwrap_err();
        assert!(error.contains("alerts"), "{error}");
    }

    #[test]
    fn a_notification_without_alerts_is_refused_and_long_labels_are_cut() {
        let empty = SAMPLE.replacen(
            &SAMPLE[SAMPLE.find("\"alerts\":[").unwrap()
                ..SAMPLE.find("],\"groupLabels\"").unwrap() + 1],
            "\"alerts\":[]",
            1,
        );
        let error = Notification::parse(empty.as_bytes()).unwrap_err();
        assert!(error.contains("no alerts"), "{error}");

        let mut long: Notification = serde_json::from_str(SAMPLE).unwrap();
        let name = "A".repeat(100_000);
        long.alerts[0]
            .labels
            .insert("alertname".into(), name.clone());
        long.alerts[0]
            .annotations
            .insert("summary".into(), "s".repeat(10_000));
        long.common_labels.insert("x".repeat(5_000), "v".into());
        let body = serde_json::json!({
            "version": "4", "groupKey": "k", "status": "firing",
            "commonLabels": long.common_labels,
            "alerts": [{"status": "firing", "labels": long.alerts[0].labels,
                "annotations": long.alerts[0].annotations,
                "startsAt": "2026-11-25T10:00:00Z"}],
        });
        let parsed = Notification::parse(body.to_string().as_bytes()).unwrap();
        let alertname = &parsed.alerts[0].labels["alertname"];
        assert!(alertname.starts_with(&"A".repeat(MAX_LABEL_CHARS)));
        assert!(
            alertname.ends_with(&format!(
                "… [cut: {} more characters]",
                100_000 - MAX_LABEL_CHARS
            )),
            "the cut is marked"
        );
        assert!(
            parsed.alerts[0].annotations["summary"].chars().count() < MAX_ANNOTATION_CHARS + 40
        );
        assert!(parsed
            .common_labels
            .keys()
            .all(|k| k.chars().count() < MAX_LABEL_CHARS + 40));

        let error = Notification::parse(
            body.to_string()
                .replace(
                    "\"groupKey\":\"k\"",
                    &format!("\"groupKey\":\"{}\"", "k".repeat(MAX_KEY_CHARS + 1)),
                )
                .as_bytes(),
        )
        .unwrap_err();
        assert!(error.contains("`groupKey` is 1025 characters"), "{error}");
    }

    #[test]
    fn an_alert_without_a_fingerprint_is_known_by_its_labels() {
        let mut a: Notification = serde_json::from_str(SAMPLE).unwrap();
        a.alerts[0].fingerprint.clear();
        let mut b = a.clone();
        assert_eq!(a.alerts[0].identity(), b.alerts[0].identity());
        b.alerts[0]
            .labels
            .insert("instance".into(), "web-02:80".into());
        assert_ne!(a.alerts[0].identity(), b.alerts[0].identity());
    }
}
