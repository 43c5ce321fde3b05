//! The sled store across a reopening of its files.

use super::*;
use crate::store::AuditStore;

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
            ..Commit::at(chrono::Utc::now())
        };
        store.commit(&key, &conversation, change).unwrap();
        assert!(store.first_sighting("$event1", chrono::Utc::now()).unwrap());
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
    assert!(
        !store.first_sighting("$event1", chrono::Utc::now()).unwrap(),
        "ids persist"
    );
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn reopen(path: &Path, key: AuditKey, policy: KeyPolicy) -> Result<SledStore, RuntimeError> {
    // sled's flusher may hold the lock a moment after the last handle drops.
    for _ in 0..40 {
        match SledStore::open_checked(path, key.clone(), path.with_extension("log"), policy) {
            Err(RuntimeError::StoreLocked { .. }) => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            other => return other,
        }
    }
    panic!("the store stayed locked")
}

fn record(store: &SledStore, what: &str) {
    let change = Commit {
        records: vec![AuditRecord::test_record(what)],
        ..Commit::at(chrono::Utc::now())
    };
    store
        .commit(
            &ConversationKey::new("room", "alice"),
            &Conversation::default(),
            change,
        )
        .unwrap();
}

/// The store holds TOTP secrets and the trail: nobody but its owner reads it.
#[test]
fn the_state_folder_and_store_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let path = state.join("opsbot.db");
    {
        let store = SledStore::open(&path).unwrap();
        record(&store, "first");
    }
    assert_eq!(mode(&state), 0o700, "state folder");
    assert_eq!(mode(&path), 0o700, "store folder");
    for entry in std::fs::read_dir(&path).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            assert_eq!(mode(&entry.path()), 0o600, "{}", entry.path().display());
        }
    }
    assert_eq!(mode(&state.join("audit-checkpoints.log")), 0o600);

    // A checkpoint copy others may write is refused, not used.
    std::fs::set_permissions(
        state.join("audit-checkpoints.log"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let error = SledStore::open(&path).err().expect("refused").to_string();
    assert!(error.contains("other users may write"), "{error}");
    std::fs::set_permissions(
        state.join("audit-checkpoints.log"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    // So is a state folder anyone may write to.
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o777)).unwrap();
    let error = SledStore::open(&path).err().expect("refused").to_string();
    assert!(error.contains("other users may write"), "{error}");
}

/// A deleted key made anew is named as such, not blamed on record #1; going
/// on under a new key on purpose keeps the earlier records' links checked.
#[test]
fn a_replaced_audit_key_is_named_and_only_accepted_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db");
    let first = AuditKey::from_bytes([1; 32]);
    let second = AuditKey::from_bytes([2; 32]);
    {
        let store = reopen(&path, first.clone(), KeyPolicy::Refuse).unwrap();
        record(&store, "one");
        record(&store, "two");
    }
    let refused = reopen(&path, second.clone(), KeyPolicy::Refuse)
        .err()
        .expect("refused");
    assert!(
        matches!(refused, RuntimeError::AuditKeyChanged { .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("--new-audit-key"), "{refused}");
    {
        let store = reopen(&path, second.clone(), KeyPolicy::AcceptNew).unwrap();
        record(&store, "three");
        let verification = store.verify_audit().unwrap();
        assert!(
            verification.problems.is_empty(),
            "{:?}",
            verification.problems
        );
        assert!(
            verification
                .notes
                .iter()
                .any(|n| n.contains("records #1 to #2 were sealed with the earlier key")),
            "{:?}",
            verification.notes
        );
    }
    // The new key is now the trail's key; the old one is refused.
    reopen(&path, second, KeyPolicy::Refuse).unwrap();
    let refused = reopen(&path, first, KeyPolicy::Refuse)
        .err()
        .expect("refused");
    assert!(matches!(refused, RuntimeError::AuditKeyChanged { .. }));
}
