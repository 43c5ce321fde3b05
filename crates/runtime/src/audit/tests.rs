//! The audit trail's chain and verification, tampered with every way.
use super::*;

fn key() -> AuditKey {
    AuditKey::from_bytes([7; 32])
}

fn chain(n: u64) -> Vec<AuditRecord> {
    let records: Vec<AuditRecord> = (1..=n)
        .map(|id| AuditRecord::test_record(&format!("d{id}")))
        .collect();
    super::chain(ChainHead::default(), &records, &key()).0
}

fn check(records: &[AuditRecord], head: ChainHead) -> Vec<String> {
    verify(records.iter().cloned().map(Ok), Some(head), &key(), None)
        .unwrap()
        .problems
}

#[test]
fn an_intact_chain_verifies() {
    let records = chain(4);
    let head = ChainHead {
        id: 4,
        hash: records[3].hash.clone(),
    };
    assert!(check(&records, head).is_empty());
}

#[test]
fn edits_removals_and_reorders_are_named() {
    let records = chain(4);
    let head = ChainHead {
        id: 4,
        hash: records[3].hash.clone(),
    };

    let mut edited = records.clone();
    edited[1].output = Some("nothing to see".into());
    assert_eq!(
        check(&edited, head.clone()),
        ["record #2 was edited: its content does not match its keyed hash"]
    );

    let mut removed = records.clone();
    removed.remove(2);
    let problems = check(&removed, head.clone());
    assert!(problems[0].starts_with("record #3 missing"), "{problems:?}");

    let mut reordered = records.clone();
    reordered.swap(1, 2);
    let problems = check(&reordered, head.clone());
    assert!(
        problems
            .iter()
            .any(|p| p.contains("#3 does not follow") || p.contains("out of order")),
        "{problems:?}"
    );

    let truncated = &records[..3];
    let problems = check(truncated, head);
    assert!(problems[0].contains("removed from the end"), "{problems:?}");
}

#[test]
fn a_rewrite_without_the_key_is_caught() {
    // Someone edits record 2 and re-hashes the chain and head with plain SHA-256.
    let mut records = chain(3);
    records[1].output = Some("nothing to see".into());
    let mut previous = records[0].hash.clone();
    for r in &mut records[1..] {
        r.prev_hash = previous.clone();
        r.hash = r.plain_hash();
        previous = r.hash.clone();
    }
    let head = ChainHead {
        id: 3,
        hash: previous,
    };
    let problems = check(&records, head);
    assert!(
        problems[0].contains("#2 carries an unkeyed hash"),
        "{problems:?}"
    );
    // A different key is no better.
    let other = AuditKey::from_bytes([8; 32]);
    records[1].hash = records[1].compute_hash(&other);
    let problems = check(
        &records,
        ChainHead {
            id: 3,
            hash: records[2].hash.clone(),
        },
    );
    assert!(
        problems.iter().any(|p| p.contains("#2 was edited")),
        "{problems:?}"
    );
}

#[test]
fn the_copy_reveals_records_lost_from_the_end() {
    let records = chain(6);
    let copy = records.clone();
    // The store lost #5 and #6 and its head went back with them.
    let kept = &records[..4];
    let head = ChainHead {
        id: 4,
        hash: kept[3].hash.clone(),
    };
    let found = verify(
        kept.iter().cloned().map(Ok),
        Some(head),
        &key(),
        Some((&copy, &[])),
    )
    .unwrap();
    assert_eq!(found.records, 4);
    assert_eq!(found.problems.len(), 1, "{:?}", found.problems);
    assert!(found.problems[0].starts_with("records #5 to #6 in the checkpoint copy but missing"));
}
