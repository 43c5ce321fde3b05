//! The sled store across a reopening of its files.

use super::*;

/// What the round-trip suite checks within one process, here across a
/// reopening of the files.
#[test]
fn state_and_audit_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let key = ConversationKey::new("room", "alice");
    let conversation = Conversation {
        last_dialog: Some(opsbot_dialog::LastDialog {
            dialog: "restart".into(),
            at: Utc::now(),
        }),
        ..Conversation::default()
    };
    {
        let store = SledStore::open(&path).unwrap();
        let change = Commit {
            records: vec![
                AuditRecord::test_record("first"),
                AuditRecord::test_record("second"),
            ],
            journal: vec![("r1".into(), JournalStatus::Planned)],
            execution_by: Some("alice".into()),
        };
        store.commit(&key, &conversation, change).unwrap();
        assert!(store.first_sighting("$event1").unwrap());
    }
    let store = SledStore::open(&path).unwrap();
    assert_eq!(store.load(&key).unwrap(), conversation);
    let records: Vec<AuditRecord> = store.audit_newest_first().map(Result::unwrap).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].prev_hash, records[1].hash, "chained");
    assert!(store.verify_audit().unwrap().problems.is_empty());
    assert_eq!(
        store.journal_entry("r1").unwrap().unwrap().status,
        JournalStatus::Planned
    );
    assert_eq!(
        store
            .executions_since("alice", Utc::now() - chrono::Duration::minutes(1))
            .unwrap(),
        1
    );
    assert!(!store.first_sighting("$event1").unwrap(), "ids persist");
}
