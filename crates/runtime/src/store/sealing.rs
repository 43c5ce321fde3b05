//! Which audit key sealed the trail. The store keeps a keyed check value (an
//! HMAC of a fixed label, which reveals nothing of the key), so a key that was
//! deleted and silently made anew, or swapped, is named at open instead of
//! later showing up as "record #1 was edited". Starting under a new key on
//! purpose (`KeyPolicy::AcceptNew`) records from which record on it seals;
//! `verify` then checks only the links of the records before.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::json;
use super::sled_store::SledStore;
use crate::store::AuditStore;
use crate::RuntimeError;

const SEAL_KEY: &[u8] = b"audit-key-seal";
const CHECK_LABEL: &[u8] = b"opsbot audit key check v1";

/// What to do when the audit key is not the one the trail was sealed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyPolicy {
    /// Refuse to open (the default: a lost key is to be restored, not replaced).
    #[default]
    Refuse,
    /// Seal from the next record on with the key given, keeping the old records.
    AcceptNew,
}

/// The key in force and the first record it sealed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeySeal {
    check: String,
    /// Records before this id were sealed with an earlier key.
    pub(crate) keyed_from: u64,
    /// When the key was replaced on purpose.
    pub(crate) replaced_at: Option<DateTime<Utc>>,
}

impl SledStore {
    pub(crate) fn key_seal(&self) -> Result<Option<KeySeal>, RuntimeError> {
        match self.meta.get(SEAL_KEY).map_err(SledStore::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| super::corrupt("audit key seal", e)),
        }
    }

    /// Whether the trail's newest record was sealed with this store's key
    /// (for a trail written before the seal existed).
    fn newest_record_sealed_by_key(&self) -> Result<bool, RuntimeError> {
        match self.audit_newest_first().next() {
            None => Ok(true),
            Some(record) => {
                let record = record?;
                Ok(record.compute_hash(&self.key) == record.hash)
            }
        }
    }

    /// Checks the key against the trail (see the module docs).
    pub(crate) fn check_key(&self, policy: KeyPolicy) -> Result<(), RuntimeError> {
        let check = self.key.mac(CHECK_LABEL);
        let seal = self.key_seal()?;
        let matches = match &seal {
            Some(seal) => seal.check == check,
            None => self.newest_record_sealed_by_key()?,
        };
        let next_id = self.chain_head()?.map_or(1, |head| head.id + 1);
        let fresh = match (seal, matches, policy) {
            (Some(_), true, _) => return Ok(()),
            (None, true, _) => KeySeal {
                check,
                keyed_from: 1,
                replaced_at: None,
            },
            (_, false, KeyPolicy::Refuse) => {
                return Err(RuntimeError::AuditKeyChanged {
                    store: self.path.clone(),
                })
            }
            (_, false, KeyPolicy::AcceptNew) => {
                tracing::warn!(
                    from_record = next_id,
                    "the audit trail is sealed with a new key from here on, as asked"
                );
                KeySeal {
                    check,
                    keyed_from: next_id,
                    replaced_at: Some(Utc::now()),
                }
            }
        };
        self.meta
            .insert(SEAL_KEY, json(&fresh))
            .map_err(SledStore::error)?;
        self.flush()?;
        Ok(())
    }
}
