//! Reconciling the store's audit trail with its checkpoint copy when the store
//! opens, and verifying both: records the store lost in a crash (its newest
//! bytes damaged or cut) are put back from the copy when they verify under the
//! audit key and chain on from the store's newest record; records the copy
//! lacks (a crash between the two writes) are appended to it. What cannot be
//! put back is reported by `opsbot audit verify`, never dropped silently.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::{self, AuditRecord, ChainHead, Verification};
use crate::store::{json, Store, HEAD_KEY};
use crate::RuntimeError;

const RESTORED_KEY: &[u8] = b"audit-restored";

/// Records put back from the checkpoint copy, kept so `verify` can say so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restoration {
    pub at: DateTime<Utc>,
    pub first: u64,
    pub last: u64,
}

impl Store {
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
                .map_err(Store::error)?;
        }
        let mut restored = self.restorations()?;
        restored.push(Restoration {
            at: Utc::now(),
            first: first_id,
            last: last_id,
        });
        self.meta
            .insert(RESTORED_KEY, json(&restored))
            .map_err(Store::error)?;
        self.meta
            .insert(HEAD_KEY, json(&new_head))
            .map_err(Store::error)?;
        self.db.flush().map_err(Store::error)?;
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
            let (_, bytes) = item.map_err(Store::error)?;
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
        match self.meta.get(RESTORED_KEY).map_err(Store::error)? {
            None => Ok(Vec::new()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| RuntimeError::CorruptState {
                what: "audit restoration notes".into(),
                reason: e.to_string(),
            }),
        }
    }

    /// Verifies the trail under the audit key and against the checkpoint copy.
    pub fn verify_audit(&self) -> Result<Verification, RuntimeError> {
        let copy = self.checkpoints.read()?;
        let mut verification = audit::verify(
            self.audit_oldest_first(),
            self.chain_head()?,
            &self.key,
            Some(&copy),
        )?;
        for r in self.restorations()? {
            verification.notes.push(format!(
                "records #{} to #{} were lost by the store and restored from the checkpoint copy ({}) on {}",
                r.first,
                r.last,
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
