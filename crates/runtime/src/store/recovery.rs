//! Reconciling the store's audit trail with its checkpoint copy when the store
//! opens, and verifying both: records the store lost in a crash (its newest
//! bytes damaged or cut) are put back from the copy when they verify under the
//! audit key and chain on from the store's newest record; records the copy
//! lacks (a crash between the two writes) are appended to it. What cannot be
//! put back is reported by `opsbot audit verify`, never dropped silently.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::json;
use super::sled_store::{SledStore, HEAD_KEY};
use crate::audit::{self, AuditRecord, ChainHead, Verification};
use crate::store::AuditStore;
use crate::RuntimeError;

const RESTORED_KEY: &[u8] = b"audit-restored";

/// Records put back from the checkpoint copy, kept so `verify` can say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restoration {
    pub at: DateTime<Utc>,
    pub first: u64,
    pub last: u64,
}

impl SledStore {
    /// Brings the store and the checkpoint copy level; see the module docs.
    pub(crate) fn reconcile(&self) -> Result<(), RuntimeError> {
        self.checkpoints.cut_torn_tail()?;
        let copy = self.checkpoints.read()?;
        let head = self.chain_head()?.unwrap_or_default();
        let copy_last = copy.records.last().map_or(0, |r| r.id);
        if copy_last > head.id {
            self.restore_from_copy(&head, &copy.records)?;
        } else if head.id > copy_last {
            self.extend_copy(copy_last)?;
        }
        Ok(())
    }

    fn restore_from_copy(
        &self,
        head: &ChainHead,
        copy: &[AuditRecord],
    ) -> Result<(), RuntimeError> {
        let mut previous = head.hash.clone();
        let mut restorable = Vec::new();
        for record in copy.iter().filter(|r| r.id > head.id) {
            let chains = record.id == head.id + 1 + restorable.len() as u64
                && record.prev_hash == previous
                && record.compute_hash(&self.key) == record.hash;
            if !chains {
                break;
            }
            previous = record.hash.clone();
            restorable.push(record);
        }
        let Some(last) = restorable.last() else {
            tracing::error!(store_head = head.id, copy_last = copy.last().map_or(0, |r| r.id), "the audit trail lost records that its checkpoint copy cannot put back; run `opsbot audit verify`");
            return Ok(());
        };
        let (first_id, last_id) = (restorable[0].id, last.id);
        let new_head = ChainHead {
            id: last.id,
            hash: last.hash.clone(),
        };
        for record in &restorable {
            self.audit
                .insert(record.id.to_be_bytes(), json(*record))
                .map_err(SledStore::error)?;
        }
        let mut restored = self.restorations()?;
        restored.push(Restoration {
            at: Utc::now(),
            first: first_id,
            last: last_id,
        });
        self.meta
            .insert(RESTORED_KEY, json(&restored))
            .map_err(SledStore::error)?;
        self.meta
            .insert(HEAD_KEY, json(&new_head))
            .map_err(SledStore::error)?;
        self.flush()?;
        tracing::warn!(
            first = first_id,
            last = last_id,
            "audit records lost by the store were restored from the checkpoint copy"
        );
        Ok(())
    }

    /// Appends to the copy the store's records after `copy_last` that verify.
    fn extend_copy(&self, copy_last: u64) -> Result<(), RuntimeError> {
        let mut missing = Vec::new();
        for item in self.audit.range((copy_last + 1).to_be_bytes()..) {
            let (_, bytes) = item.map_err(SledStore::error)?;
            let Ok(record) = serde_json::from_slice::<AuditRecord>(&bytes) else {
                break;
            };
            if record.compute_hash(&self.key) != record.hash {
                break;
            }
            missing.push(record);
        }
        if !missing.is_empty() {
            tracing::info!(
                records = missing.len(),
                "the audit checkpoint copy was behind the store; brought level"
            );
        }
        self.checkpoints.append(&missing)
    }

    fn restorations(&self) -> Result<Vec<Restoration>, RuntimeError> {
        match self.meta.get(RESTORED_KEY).map_err(SledStore::error)? {
            None => Ok(Vec::new()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| RuntimeError::CorruptState {
                what: "audit restoration notes".into(),
                reason: e.to_string(),
            }),
        }
    }

    /// Verifies the trail under the audit key and against the checkpoint copy.
    pub(crate) fn verify_with_copy(&self) -> Result<Verification, RuntimeError> {
        let copy = self.checkpoints.read()?;
        let seal = self.key_seal()?;
        let keyed_from = seal.as_ref().map_or(1, |s| s.keyed_from);
        let mut verification = audit::verify_from(
            self.audit_oldest_first(),
            self.chain_head()?,
            &self.key,
            Some((&copy.records, &copy.damaged)),
            keyed_from,
        )?;
        if let Some(seal) = seal.filter(|s| s.keyed_from > 1) {
            let when = seal
                .replaced_at
                .map(|at| format!(" on {}", at.format("%Y-%m-%d %H:%M:%S UTC")))
                .unwrap_or_default();
            verification.notes.push(format!(
                "the audit key was replaced{when} (--new-audit-key); {} sealed with the earlier key: their links are checked, their content cannot be",
                if seal.keyed_from == 2 { "record #1 was".to_string() } else { format!("records #1 to #{} were", seal.keyed_from - 1) }
            ));
        }
        for r in self.restorations()? {
            let which = if r.first == r.last {
                format!("record #{} was", r.first)
            } else {
                format!("records #{} to #{} were", r.first, r.last)
            };
            verification.notes.push(format!(
                "{which} lost by the store and restored from the checkpoint copy ({}) on {}",
                self.checkpoints.path().display(),
                r.at.format("%Y-%m-%d %H:%M:%S UTC")
            ));
        }
        if copy.torn_tail {
            verification.notes.push("the checkpoint copy ends in a cut line (a crash while writing it); the store holds that record".into());
        }
        Ok(verification)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Commit, ConversationKey, ConversationStore};
    use crate::AuditKey;
    use opsbot_dialog::Conversation;
    use std::path::Path;

    fn key() -> AuditKey {
        AuditKey::from_bytes([3; 32])
    }

    fn open(dir: &Path) -> Result<SledStore, RuntimeError> {
        // sled's background flusher can hold the file lock a moment after
        // the last handle is dropped; a reopen right after waits for it.
        let mut tries = 0;
        loop {
            match SledStore::open_with(&dir.join("db"), key(), dir.join("checkpoints.log")) {
                Err(RuntimeError::StoreLocked { .. }) if tries < 40 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                other => return other,
            }
        }
    }

    fn add(store: &SledStore, n: usize) {
        let who = ConversationKey::new("room", "alice");
        for i in 0..n {
            let change = Commit {
                records: vec![AuditRecord::test_record(&format!("step{i}"))],
                ..Commit::at(chrono::Utc::now())
            };
            store
                .commit(&who, &Conversation::default(), change)
                .unwrap();
        }
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }

    /// A store with 4 records, then 2 more; the bytes the last two wrote.
    fn store_with_newest_bytes(dir: &Path) -> (Vec<u8>, std::ops::Range<usize>) {
        {
            let store = open(dir).unwrap();
            add(&store, 4);
        }
        let before = std::fs::read(dir.join("db/db")).unwrap();
        {
            let store = open(dir).unwrap();
            add(&store, 2);
        }
        let after = std::fs::read(dir.join("db/db")).unwrap();
        let end = after.iter().rposition(|b| *b != 0).unwrap() + 1;
        let start = (0..end)
            .find(|&i| before.get(i) != Some(&after[i]))
            .unwrap();
        (after, start..end)
    }

    /// Opens a damaged copy of the store; what verify says, or the open error.
    fn verdict(dir: &Path, db: &[u8]) -> Result<Verification, String> {
        let work = tempfile::tempdir().unwrap();
        copy_dir(dir, work.path());
        std::fs::write(work.path().join("db/db"), db).unwrap();
        let opened = std::panic::catch_unwind(|| open(work.path()).map(|s| s.verify_audit()));
        match opened {
            Err(_) => panic!("opening a damaged store panicked"),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(verification)) => Ok(verification.unwrap()),
        }
    }

    #[test]
    fn damage_to_the_newest_records_is_restored_from_the_copy_or_reported() {
        let dir = tempfile::tempdir().unwrap();
        let (db, newest) = store_with_newest_bytes(dir.path());
        let mut restored = 0;
        // Every byte offset the newest records wrote, flipped, and the log cut there.
        for offset in newest.clone() {
            let mut flipped = db.clone();
            flipped[offset] ^= 0x10;
            for damaged in [flipped, db[..offset].to_vec()] {
                match verdict(dir.path(), &damaged) {
                    Err(error) => assert!(error.contains("db"), "an unclear error: {error}"),
                    Ok(v) => {
                        // Never fewer records with a clean bill of health.
                        assert!(
                            v.records == 6 || !v.problems.is_empty(),
                            "offset {offset}: {} records and no problem reported",
                            v.records
                        );
                        if v.records == 6 && v.problems.is_empty() && !v.notes.is_empty() {
                            restored += 1;
                        }
                    }
                }
            }
        }
        assert!(restored > 0, "some damage needed a restore");
    }

    #[test]
    fn what_the_copy_holds_beyond_the_store_is_put_back_and_said() {
        let dir = tempfile::tempdir().unwrap();
        let (db, newest) = store_with_newest_bytes(dir.path());
        // The store lost its two newest records; the copy lost one.
        let copy = dir.path().join("checkpoints.log");
        let text = std::fs::read_to_string(&copy).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 6);
        std::fs::write(&copy, lines[..5].join("\n") + "\n").unwrap();
        let v = verdict(dir.path(), &db[..newest.start]).unwrap();
        assert_eq!(v.records, 5, "{v:?}");
        assert!(v.problems.is_empty(), "{v:?}");
        assert!(
            v.notes[0].starts_with("record #5 was lost by the store and restored"),
            "{v:?}"
        );
    }

    #[test]
    fn a_crash_between_the_two_writes_is_levelled_at_open() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = open(dir.path()).unwrap();
            add(&store, 3);
        }
        // The copy missed the last record and ends in a torn line.
        let copy = dir.path().join("checkpoints.log");
        let text = std::fs::read_to_string(&copy).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let last = lines.pop().unwrap();
        let torn = format!("{}\n{}", lines.join("\n"), &last[..last.len() / 2]);
        std::fs::write(&copy, torn).unwrap();
        let store = open(dir.path()).unwrap();
        let v = store.verify_audit().unwrap();
        assert_eq!((v.records, v.problems.clone()), (3, Vec::<String>::new()));
        assert_eq!(
            std::fs::read_to_string(&copy).unwrap(),
            text,
            "levelled again"
        );
    }
}
