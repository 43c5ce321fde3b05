//! Audit records: what was asked, understood, confirmed, approved and run, by
//! whom, with what result. Every executed, failed, denied, cancelled, expired or
//! dry-run request leaves one.
//!
//! Records form a keyed hash chain: each holds an HMAC (under the audit key
//! kept outside the store, see [`crate::seal`]) over its content and the hash of
//! the one before, and the store keeps the newest id and hash apart. [`verify`]
//! finds any record that was edited, removed or reordered, a rewrite by someone
//! without the key, and, against the checkpoint copy, records lost from the end.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsbot_dialog::{ActionOutcome, Plan, Record, Request, SlotValue};
use opsbot_spec::Settings;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::key::ConversationKey;
use crate::seal::AuditKey;

/// How a request ended: the engine's list, shared (see [`opsbot_dialog::Outcome`]).
pub use opsbot_dialog::Outcome as AuditOutcome;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// 1, 2, 3 …, assigned by the store.
    pub id: u64,
    /// Hash of the previous record ("" for the first).
    pub prev_hash: String,
    /// SHA-256 over this record with `hash` empty.
    pub hash: String,
    pub request_id: String,
    pub time: DateTime<Utc>,
    pub room: String,
    pub user: String,
    pub outcome: AuditOutcome,
    pub dialog: String,
    pub intent: String,
    pub confidence: f32,
    /// Values with where each came from (extracted, asked, carried over, default).
    pub slots: BTreeMap<String, SlotValue>,
    pub messages: Vec<String>,
    pub confirmed_by: Option<String>,
    pub approved_by: Option<String>,
    /// The approver who declined the request (absent from records before
    /// this field, so their hashes still verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    pub two_factor: bool,
    pub dry_run: bool,
    /// The access decision: "allowed", or "denied: why".
    pub access: String,
    pub command: Option<String>,
    pub exit_code: Option<i32>,
    pub duration_ms: Option<u64>,
    pub output: Option<String>,
    pub reason: Option<String>,
    /// The alert the request was about (absent from records before alerts,
    /// so their hashes still verify).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<opsbot_dialog::AlertLink>,
}

/// The newest record's id and hash, kept beside the trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainHead {
    pub id: u64,
    pub hash: String,
}

impl AuditRecord {
    fn from_request(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        outcome: AuditOutcome,
        request: &Request,
    ) -> AuditRecord {
        AuditRecord {
            id: 0,
            prev_hash: String::new(),
            hash: String::new(),
            request_id: request.id.clone(),
            time,
            room: key.room.clone(),
            user: key.user.clone(),
            outcome,
            dialog: request.dialog.clone(),
            intent: request.intent.clone(),
            confidence: request.confidence,
            slots: request.slots.clone(),
            messages: request
                .messages
                .iter()
                .map(|m| settings.redact(m))
                .collect(),
            confirmed_by: request.confirmed_by.clone(),
            approved_by: request.approved_by.clone(),
            declined_by: request.declined_by.clone(),
            two_factor: request.two_factor,
            dry_run: request.dry_run,
            access: "allowed".into(),
            command: None,
            exit_code: None,
            duration_ms: None,
            output: None,
            reason: None,
            alert: request.alert.clone(),
        }
    }

    /// A request that ended without running (cancelled, denied, expired, dry run, unknown).
    pub fn from_record(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        record: &Record,
    ) -> AuditRecord {
        let outcome = record.disposition;
        let mut audit = AuditRecord::from_request(settings, key, time, outcome, &record.request);
        if outcome == AuditOutcome::Denied {
            audit.access = format!("denied: {}", record.reason);
        }
        audit.reason = Some(settings.redact(&record.reason));
        audit
    }

    /// A two-factor code that was wrong, or sent while 2FA is locked.
    pub fn code_rejected(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        request: &Request,
        locked_out: bool,
    ) -> AuditRecord {
        let mut audit =
            AuditRecord::from_request(settings, key, time, AuditOutcome::CodeRejected, request);
        audit.two_factor = true;
        audit.reason = Some(if locked_out {
            "two-factor authentication is locked after too many wrong codes".into()
        } else {
            "wrong two-factor code".into()
        });
        audit
    }

    /// A request that ran.
    pub fn executed(
        settings: &Settings,
        key: &ConversationKey,
        time: DateTime<Utc>,
        request: &Request,
        plan: &Plan,
        outcome: &ActionOutcome,
    ) -> AuditRecord {
        let status = match (outcome.started, outcome.succeeded) {
            // A dry run's read-only preview: what ran changed nothing.
            _ if request.dry_run => AuditOutcome::DryRun,
            (false, _) => AuditOutcome::NotStarted,
            (true, true) => AuditOutcome::Succeeded,
            (true, false) => AuditOutcome::Failed,
        };
        let mut audit = AuditRecord::from_request(settings, key, time, status, request);
        if request.dry_run {
            audit.reason = Some("dry run: only the read-only preview ran".into());
        }
        audit.command = Some(plan.command_line());
        audit.exit_code = outcome.exit_code;
        audit.duration_ms = Some(outcome.duration.as_millis() as u64);
        audit.output = Some(settings.redact(&outcome.output));
        if let Some(error) = &outcome.error {
            audit.reason = Some(settings.redact(error));
        }
        audit
    }

    fn unhashed_bytes(&self) -> Vec<u8> {
        let mut unhashed = self.clone();
        unhashed.hash = String::new();
        serde_json::to_vec(&unhashed).expect("audit record serialises")
    }

    /// HMAC-SHA256 under the audit key of the record with its own hash left empty.
    pub fn compute_hash(&self, key: &AuditKey) -> String {
        key.mac(&self.unhashed_bytes())
    }

    /// The unkeyed SHA-256 an older opsbot (or someone without the key) writes.
    fn plain_hash(&self) -> String {
        hex::encode(Sha256::digest(self.unhashed_bytes()))
    }

    /// "shop=1.2.0 environment=staging".
    pub fn slot_summary(&self) -> String {
        self.slots
            .iter()
            .map(|(k, v)| format!("{k}={}", v.value))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether a filter's free text appears in the record's messages, slots or command.
    pub fn mentions(&self, text: &str) -> bool {
        let needle = text.to_lowercase();
        self.messages
            .iter()
            .any(|m| m.to_lowercase().contains(&needle))
            || self
                .slots
                .values()
                .any(|v| v.value.to_lowercase().contains(&needle))
            || self
                .command
                .as_deref()
                .is_some_and(|c| c.to_lowercase().contains(&needle))
    }

    #[cfg(test)]
    pub(crate) fn test_record(dialog: &str) -> AuditRecord {
        AuditRecord {
            id: 0,
            prev_hash: String::new(),
            hash: String::new(),
            request_id: "r".into(),
            time: Utc::now(),
            room: "room".into(),
            user: "alice".into(),
            outcome: AuditOutcome::Succeeded,
            dialog: dialog.into(),
            intent: dialog.into(),
            confidence: 0.9,
            slots: BTreeMap::new(),
            messages: vec!["hello".into()],
            confirmed_by: None,
            approved_by: None,
            declined_by: None,
            two_factor: false,
            dry_run: false,
            access: "allowed".into(),
            command: None,
            exit_code: Some(0),
            duration_ms: Some(1),
            output: None,
            reason: None,
            alert: None,
        }
    }
}

/// Links `records` after `head`: each gets the next id, the previous hash and
/// its keyed hash. Returns the records as they are to be stored and the new
/// head. The chain is the audit module's business; a store only persists it.
pub fn chain(
    mut head: ChainHead,
    records: &[AuditRecord],
    key: &AuditKey,
) -> (Vec<AuditRecord>, ChainHead) {
    let mut linked = Vec::with_capacity(records.len());
    for record in records {
        let mut record = record.clone();
        record.id = head.id + 1;
        record.prev_hash = head.hash.clone();
        record.hash = record.compute_hash(key);
        head = ChainHead {
            id: record.id,
            hash: record.hash.clone(),
        };
        linked.push(record);
    }
    (linked, head)
}

/// The checkpoint copy as `verify` sees it: its records, and its damaged
/// lines (line number, why).
pub type CopyView<'c> = (&'c [AuditRecord], &'c [(usize, String)]);

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

#[cfg(test)]
mod tests {
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
        assert!(
            found.problems[0].starts_with("records #5 to #6 in the checkpoint copy but missing")
        );
    }
}
