//! The sled store's audit trail (chained records and their head) and its
//! two-factor secrets: the parts written outside a step's commit, or only
//! read back.

use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::{SledStore, HEAD_KEY};
use crate::audit::{AuditRecord, ChainHead, Verification};
use crate::seal::AuditKey;
use crate::store::{corrupt, json, AuditRecords, AuditStore, SecretStore};
use crate::totp::TotpRecord;
use crate::RuntimeError;

impl AuditStore for SledStore {
    /// Audit records, newest first.
    fn audit_newest_first(&self) -> AuditRecords<'_> {
        Box::new(self.audit.iter().rev().map(decode_record))
    }

    /// Audit records, oldest first.
    fn audit_oldest_first(&self) -> AuditRecords<'_> {
        Box::new(self.audit.iter().map(decode_record))
    }

    fn chain_head(&self) -> Result<Option<ChainHead>, RuntimeError> {
        match self.meta.get(HEAD_KEY).map_err(SledStore::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("audit chain head", e)),
        }
    }

    fn verify_audit(&self) -> Result<Verification, RuntimeError> {
        self.verify_with_copy()
    }
}

impl SecretStore for SledStore {
    fn totp(&self, user: &str) -> Result<Option<TotpRecord>, RuntimeError> {
        match self.totp.get(user.as_bytes()).map_err(SledStore::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("two-factor record", e)),
        }
    }

    fn put_totp(&self, user: &str, record: &TotpRecord) -> Result<(), RuntimeError> {
        self.totp
            .insert(user.as_bytes(), json(record))
            .map_err(SledStore::error)?;
        self.flush()?;
        Ok(())
    }

    fn remove_totp(&self, user: &str) -> Result<bool, RuntimeError> {
        let existed = self
            .totp
            .remove(user.as_bytes())
            .map_err(SledStore::error)?
            .is_some();
        self.flush()?;
        Ok(existed)
    }
}

fn decode_record(
    item: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<AuditRecord, RuntimeError> {
    let (_, bytes) = item.map_err(SledStore::error)?;
    serde_json::from_slice(&bytes).map_err(|e| corrupt("audit record", e))
}

/// Appends records after the chain head, linking each to the previous hash.
pub(super) fn append_chained<A>(
    audit: &TransactionalTree,
    meta: &TransactionalTree,
    records: &[AuditRecord],
    key: &AuditKey,
) -> Result<Vec<AuditRecord>, ConflictableTransactionError<A>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let head: ChainHead = match meta.get(HEAD_KEY)? {
        Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_default(),
        None => ChainHead::default(),
    };
    let (stored, head) = crate::audit::chain(head, records, key);
    for record in &stored {
        audit.insert(&record.id.to_be_bytes(), json(record))?;
    }
    meta.insert(HEAD_KEY, json(&head))?;
    Ok(stored)
}
