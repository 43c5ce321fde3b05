//! The inbox file: replacing entries, decisions, torn lines, retention.

use chrono::TimeZone;

use super::*;

fn entry(id: &str, minute: u32, text: &str) -> InboxEntry {
    InboxEntry {
        id: id.into(),
        kind: LessonKind::NotUnderstood,
        text: text.into(),
        predicted: None,
        alternatives: Vec::new(),
        entities: Vec::new(),
        chosen: None,
        suggested: None,
        room: "ops".into(),
        at: Utc.with_ymd_and_hms(2026, 11, 24, 10, minute, 0).unwrap(),
        model: "m1".into(),
        decision: None,
    }
}

fn decision(label: &str) -> Decision {
    Decision {
        label: label.into(),
        at: Utc::now(),
        written_to: "intents/x.yaml:3".into(),
    }
}

#[test]
fn a_later_entry_replaces_one_with_its_id_and_keeps_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::new(dir.path().join("review"));
    assert!(inbox.entries().unwrap().is_empty(), "no file yet: empty");
    inbox
        .record(vec![entry("a", 1, "first"), entry("b", 0, "second")])
        .unwrap();
    inbox.decide("a", decision("restart_service")).unwrap();
    let mut updated = entry("a", 1, "first");
    updated.kind = LessonKind::Corrected;
    inbox.record(vec![updated]).unwrap();
    let entries = inbox.entries().unwrap();
    assert_eq!(
        entries.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["b", "a"],
        "oldest first"
    );
    assert_eq!(entries[1].kind, LessonKind::Corrected);
    assert_eq!(
        entries[1].decision.as_ref().unwrap().label,
        "restart_service"
    );
}

#[test]
fn a_torn_last_line_is_skipped_and_the_rest_kept() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::new(dir.path());
    inbox.record(vec![entry("a", 1, "first")]).unwrap();
    let mut file = OpenOptions::new().append(true).open(inbox.path()).unwrap();
    file.write_all(b"{\"entry\":{\"id\":\"b\",\"ki").unwrap();
    assert_eq!(inbox.entries().unwrap().len(), 1);
    // The next entry starts a line of its own: not glued to the torn one.
    inbox.record(vec![entry("c", 2, "third")]).unwrap();
    let ids: Vec<String> = inbox.entries().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["a", "c"]);
}

#[test]
fn retention_purge_and_removal() {
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::new(dir.path());
    inbox
        .record((0..5).map(|i| entry(&format!("e{i}"), i, "text")).collect())
        .unwrap();
    let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 10, 0).unwrap();
    // Older than 7.5 minutes: e0, e1, e2 go.
    let removed = inbox
        .prune(std::time::Duration::from_secs(450), 100, now)
        .unwrap();
    assert_eq!(removed, 3);
    inbox
        .record((5..9).map(|i| entry(&format!("e{i}"), i, "text")).collect())
        .unwrap();
    // At most 3: the oldest go first.
    inbox
        .prune(std::time::Duration::from_secs(3600), 3, now)
        .unwrap();
    let ids: Vec<String> = inbox.entries().unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(ids, ["e6", "e7", "e8"]);
    let cut = Utc.with_ymd_and_hms(2026, 11, 24, 10, 8, 0).unwrap();
    assert_eq!(inbox.purge_before(cut).unwrap(), 2);
    assert_eq!(inbox.remove(&["e8".into()]).unwrap(), 1);
    assert!(inbox.entries().unwrap().is_empty());
}

/// What people wrote is owner-only: the folder 0700, the inbox 0600, also
/// after a rewrite; an inbox others may write is refused.
#[test]
fn the_inbox_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let inbox = Inbox::new(dir.path().join("review"));
    inbox.record(vec![entry("a", 1, "first")]).unwrap();
    assert_eq!(mode(&dir.path().join("review")), 0o700);
    assert_eq!(mode(&inbox.path()), 0o600);
    inbox.record(vec![entry("b", 2, "second")]).unwrap();
    assert_eq!(
        inbox
            .purge_before(Utc.with_ymd_and_hms(2026, 11, 24, 10, 2, 0).unwrap())
            .unwrap(),
        1
    );
    assert_eq!(mode(&inbox.path()), 0o600, "after a rewrite");
    std::fs::set_permissions(inbox.path(), std::fs::Permissions::from_mode(0o666)).unwrap();
    let error = inbox
        .record(vec![entry("c", 3, "third")])
        .unwrap_err()
        .to_string();
    assert!(error.contains("other users may write"), "{error}");
}
