//! How a group tells its state: firing and resolved texts, redeliveries,
//! new incidents, many hosts, and label values that cannot reach a room raw.

use super::*;
use crate::alerts::notification::Alert;

fn alert(name: &str, instance: &str, firing: bool, minutes: i64) -> Alert {
    let start = DateTime::parse_from_rfc3339("2026-11-25T10:00:00Z")
        .unwrap()
        .to_utc();
    Alert {
        status: if firing {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        },
        labels: [
            ("alertname", name),
            ("instance", instance),
            ("severity", "critical"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        annotations: [("summary".to_string(), format!("{name} on {instance}"))].into(),
        starts_at: start,
        ends_at: (!firing).then(|| start + chrono::Duration::minutes(minutes)),
        generator_url: String::new(),
        fingerprint: format!("{name}/{instance}"),
    }
}

fn notification(alerts: Vec<Alert>) -> Notification {
    Notification {
        version: "4".into(),
        group_key: "{}:{alertname=\"ApacheDown\"}".into(),
        receiver: "opsbot".into(),
        status: if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        },
        group_labels: Labels::new(),
        common_labels: Labels::new(),
        common_annotations: Labels::new(),
        external_url: String::new(),
        alerts,
    }
}

#[test]
fn a_group_is_told_firing_then_resolved_in_one_text() {
    let now = Utc::now();
    let mut group = AlertGroup::new(
        "!room",
        "web",
        &notification(vec![alert("ApacheDown", "web-01:80", true, 0)]),
        now,
    );
    assert_eq!(
        group.text,
        "🔥 FIRING ApacheDown on web-01 (severity: critical)\nsummary: ApacheDown on web-01:80"
    );
    assert!(group.merge(
        &notification(vec![
            alert("ApacheDown", "web-01:80", true, 0),
            alert("ApacheDown", "web-02:80", true, 0)
        ]),
        now
    ));
    assert!(
        group.text.starts_with(
            "🔥 FIRING ApacheDown on web-01 and web-02 (severity: critical) — 2 alerts in group"
        ),
        "{}",
        group.text
    );
    assert!(group.merge(
        &notification(vec![alert("ApacheDown", "web-02:80", false, 3)]),
        now
    ));
    assert!(
        group.text.contains("— 1 of 2 alerts firing"),
        "{}",
        group.text
    );
    assert!(
        group.text.starts_with("🔥 FIRING ApacheDown on web-01 ("),
        "{}",
        group.text
    );
    assert!(group.merge(
        &notification(vec![alert("ApacheDown", "web-01:80", false, 7)]),
        now
    ));
    assert!(
        group
            .text
            .starts_with("✅ RESOLVED ApacheDown on web-01 and web-02 (after 7 min)"),
        "{}",
        group.text
    );
    assert!(group.is_resolved());
}

#[test]
fn a_redelivery_changes_nothing_and_a_new_firing_after_resolution_is_a_new_message() {
    let now = Utc::now();
    let fired = notification(vec![alert("DiskFull", "db-1:9100", true, 0)]);
    let mut group = AlertGroup::new("!room", "db", &fired, now);
    assert!(!group.merge(&fired, now), "the same state again");
    group.delivered = Some(group.text.clone());
    group.message = Some(MessageHandle {
        room: "!room".into(),
        id: "$1".into(),
    });
    assert!(group.merge(
        &notification(vec![alert("DiskFull", "db-1:9100", false, 5)]),
        now
    ));
    assert!(
        group.message.is_some(),
        "the resolution edits the same message"
    );
    group.delivered = Some(group.text.clone());
    assert!(group.merge(&fired, now));
    assert_eq!(group.message, None, "a new incident gets a new message");
    assert!(group.text.starts_with("🔥 FIRING DiskFull on db-1"));
}

#[test]
fn many_hosts_are_summed_up_and_control_characters_never_reach_the_room() {
    let now = Utc::now();
    let alerts = (1..=5)
        .map(|i| alert("NodeDown", &format!("node-{i}\u{1b}[31m:9100"), true, 0))
        .collect();
    let group = AlertGroup::new("!room", "nodes", &notification(alerts), now);
    let first = group.text.lines().next().unwrap();
    assert!(first.contains("and 2 more"), "{first}");
    assert!(first.contains("5 alerts in group"), "{first}");
    assert!(
        !group.text.chars().any(|c| c.is_control() && c != '\n'),
        "{:?}",
        group.text
    );
}

#[test]
fn a_fingerprint_keeps_its_labels_on_the_timeline_and_in_the_text() {
    let now = Utc::now();
    let first = notification(vec![alert("ApacheDown", "web-01:80", true, 0)]);
    let mut group = AlertGroup::new("!r", "web", &first, now);
    // The same fingerprint resolving, now naming another host.
    let mut elsewhere = alert("ApacheDown", "web-99:80", false, 5);
    elsewhere.fingerprint = "ApacheDown/web-01:80".into();
    let moved = notification(vec![elsewhere]);
    let events = group.transitions(&moved);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].subject, "ApacheDown on web-01", "{events:?}");
    group.merge(&moved, now);
    // (Annotations may change, as Alertmanager's templated ones do.)
    let status = group.text.lines().next().unwrap();
    assert!(
        status.contains("web-01") && !status.contains("web-99"),
        "{}",
        group.text
    );
}
