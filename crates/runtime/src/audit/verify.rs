//! Verifying the trail: ids, links, keyed hashes and the head, then the
//! checkpoint copy against the store (`opsbot audit verify`).

use std::collections::BTreeMap;

use super::{AuditRecord, ChainHead, CopyView};
use crate::seal::AuditKey;

/// What `opsbot audit verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub records: u64,
    /// Each problem names the record it concerns; empty when the chain holds.
    pub problems: Vec<String>,
    /// Facts worth knowing that are not problems (records restored earlier).
    pub notes: Vec<String>,
}

/// Walks the trail oldest first and checks ids, links, keyed hashes and the
/// head, then compares it with the checkpoint copy: every record there must be
/// in the store with the same hash.
pub fn verify(
    records: impl Iterator<Item = Result<AuditRecord, crate::RuntimeError>>,
    head: Option<ChainHead>,
    key: &AuditKey,
    copy: Option<CopyView<'_>>,
) -> Result<Verification, crate::RuntimeError> {
    verify_from(records, head, key, copy, 1)
}

/// As [`verify`], for a trail whose records before `keyed_from` were sealed
/// with an earlier key (replaced on purpose): their links are checked, their
/// keyed hashes cannot be.
pub fn verify_from(
    records: impl Iterator<Item = Result<AuditRecord, crate::RuntimeError>>,
    head: Option<ChainHead>,
    key: &AuditKey,
    copy: Option<CopyView<'_>>,
    keyed_from: u64,
) -> Result<Verification, crate::RuntimeError> {
    let mut problems = Vec::new();
    let mut expected_id = 1;
    let mut previous_hash = String::new();
    let mut count = 0;
    let mut stored_hashes = BTreeMap::new();
    for record in records {
        let record = record?;
        count += 1;
        if record.id > expected_id {
            problems.push(format!(
                "{} missing: the trail jumps from #{} to #{}",
                id_range("record", expected_id, record.id - 1),
                expected_id - 1,
                record.id
            ));
        } else if record.id < expected_id {
            problems.push(format!(
                "record #{} is out of order (after #{})",
                record.id,
                expected_id - 1
            ));
        }
        if record.id >= keyed_from && record.compute_hash(key) != record.hash {
            if record.plain_hash() == record.hash {
                problems.push(format!("record #{} carries an unkeyed hash: it was written without the audit key (by an older opsbot, or rewritten by someone without the key)", record.id));
            } else {
                problems.push(format!(
                    "record #{} was edited: its content does not match its keyed hash",
                    record.id
                ));
            }
        } else if record.prev_hash != previous_hash {
            problems.push(format!("record #{} does not follow the record before it (a record was removed, inserted or reordered)", record.id));
        }
        stored_hashes.insert(record.id, record.hash.clone());
        previous_hash = record.hash.clone();
        expected_id = record.id + 1;
    }
    match head {
        Some(head) if head.id != expected_id - 1 || head.hash != previous_hash => problems.push(format!(
            "the newest record should be #{} but the trail ends at #{}: records were removed from the end, or the head was altered",
            head.id,
            expected_id - 1
        )),
        None if count > 0 => problems.push("the chain head is missing".to_string()),
        _ => {}
    }
    if let Some((copy, damaged)) = copy {
        compare_with_copy(
            &stored_hashes,
            key,
            copy,
            damaged,
            keyed_from,
            &mut problems,
        );
    }
    Ok(Verification {
        records: count,
        problems,
        notes: Vec::new(),
    })
}

/// Problems the checkpoint copy reveals: records missing from the store (lost
/// in a crash or removed), records that differ, and damage to the copy itself.
fn compare_with_copy(
    stored: &BTreeMap<u64, String>,
    key: &AuditKey,
    copy: &[AuditRecord],
    damaged: &[(usize, String)],
    keyed_from: u64,
    problems: &mut Vec<String>,
) {
    for (line, error) in damaged {
        problems.push(format!(
            "line {line} of the checkpoint copy is not an audit record ({error})"
        ));
    }
    let mut missing = Vec::new();
    for record in copy {
        if record.id >= keyed_from && record.compute_hash(key) != record.hash {
            problems.push(format!(
                "the checkpoint copy of record #{} does not verify under the audit key",
                record.id
            ));
            continue;
        }
        match stored.get(&record.id) {
            None => missing.push(record.id),
            Some(hash) if *hash != record.hash => problems.push(format!(
                "record #{} differs from its checkpointed copy: one of them was rewritten",
                record.id
            )),
            Some(_) => {}
        }
    }
    for (first, last) in runs(&missing) {
        problems.push(format!(
            "{} in the checkpoint copy but missing from the store (lost in a crash or removed, and not restorable: they do not chain on from the store's newest record)",
            id_range("record", first, last)
        ));
    }
}

/// "record #4" or "records #4 to #9".
fn id_range(noun: &str, first: u64, last: u64) -> String {
    if first == last {
        format!("{noun} #{first}")
    } else {
        format!("{noun}s #{first} to #{last}")
    }
}

/// Consecutive runs in a sorted list of ids.
fn runs(ids: &[u64]) -> Vec<(u64, u64)> {
    let mut out: Vec<(u64, u64)> = Vec::new();
    for &id in ids {
        match out.last_mut() {
            Some((_, last)) if *last + 1 == id => *last = id,
            _ => out.push((id, id)),
        }
    }
    out
}
