//! Persistent state in sled: one tree of conversations keyed by (room, user) and
//! one append-only tree of audit records keyed by a monotonic id.
//!
//! A conversation's new state and the audit records its step produced are written
//! in one transaction and flushed before the bot replies, so a crash can lose
//! neither a dialog nor an audit entry.

use std::path::Path;

use opsbot_dialog::Conversation;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use crate::audit::AuditRecord;
use crate::RuntimeError;

/// Identifies a conversation: one user in one room.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConversationKey {
    pub room: String,
    pub user: String,
}

impl ConversationKey {
    pub fn new(room: impl Into<String>, user: impl Into<String>) -> Self {
        ConversationKey {
            room: room.into(),
            user: user.into(),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        // NUL cannot occur in room or user ids, so the pair splits unambiguously.
        let mut key = Vec::with_capacity(self.room.len() + self.user.len() + 1);
        key.extend_from_slice(self.room.as_bytes());
        key.push(0);
        key.extend_from_slice(self.user.as_bytes());
        key
    }
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    conversations: sled::Tree,
    audit: sled::Tree,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store, RuntimeError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| RuntimeError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let db = sled::Config::new().path(path).open().map_err(|e| match e {
            // sled wraps the failed file lock in an I/O error of its own.
            sled::Error::Io(io)
                if io.kind() == std::io::ErrorKind::WouldBlock
                    || io.to_string().contains("could not acquire lock") =>
            {
                RuntimeError::StoreLocked {
                    path: path.to_path_buf(),
                }
            }
            other => RuntimeError::Store {
                path: path.to_path_buf(),
                source: other,
            },
        })?;
        let store_error = |source| RuntimeError::Store {
            path: path.to_path_buf(),
            source,
        };
        let conversations = db.open_tree("conversations").map_err(store_error)?;
        let audit = db.open_tree("audit").map_err(store_error)?;
        Ok(Store {
            db,
            conversations,
            audit,
        })
    }

    fn error(&self, source: sled::Error) -> RuntimeError {
        RuntimeError::Store {
            path: Default::default(),
            source,
        }
    }

    pub fn load(&self, key: &ConversationKey) -> Result<Conversation, RuntimeError> {
        match self
            .conversations
            .get(key.bytes())
            .map_err(|e| self.error(e))?
        {
            None => Ok(Conversation::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| RuntimeError::CorruptState {
                what: format!("conversation of {} in {}", key.user, key.room),
                reason: e.to_string(),
            }),
        }
    }

    /// Saves a conversation and appends audit records atomically, then flushes.
    /// Returns the ids given to the records.
    pub fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        records: &[AuditRecord],
    ) -> Result<Vec<u64>, RuntimeError> {
        let state = serde_json::to_vec(conversation).expect("conversation serialises");
        let ids: Vec<u64> = records
            .iter()
            .map(|_| self.db.generate_id())
            .collect::<Result<_, _>>()
            .map_err(|e| self.error(e))?;
        let encoded: Vec<(u64, Vec<u8>)> = records
            .iter()
            .zip(&ids)
            .map(|(r, &id)| {
                let mut r = r.clone();
                r.id = id;
                (id, serde_json::to_vec(&r).expect("audit record serialises"))
            })
            .collect();
        (&self.conversations, &self.audit)
            .transaction(|(conversations, audit)| {
                conversations.insert(key.bytes(), state.as_slice())?;
                for (id, bytes) in &encoded {
                    audit.insert(&id.to_be_bytes(), bytes.as_slice())?;
                }
                Ok::<_, ConflictableTransactionError<()>>(())
            })
            .map_err(|e| match e {
                TransactionError::Storage(e) => self.error(e),
                TransactionError::Abort(()) => unreachable!("the transaction never aborts"),
            })?;
        self.db.flush().map_err(|e| self.error(e))?;
        Ok(ids)
    }

    /// Audit records, newest first.
    pub fn audit_newest_first(
        &self,
    ) -> impl Iterator<Item = Result<AuditRecord, RuntimeError>> + '_ {
        self.audit.iter().rev().map(|item| {
            let (_, bytes) = item.map_err(|e| RuntimeError::Store {
                path: Default::default(),
                source: e,
            })?;
            serde_json::from_slice(&bytes).map_err(|e| RuntimeError::CorruptState {
                what: "audit record".into(),
                reason: e.to_string(),
            })
        })
    }

    pub fn audit_len(&self) -> usize {
        self.audit.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsbot_dialog::Phase;

    #[test]
    fn state_and_audit_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let key = ConversationKey::new("room", "alice");
        {
            let store = Store::open(&path).unwrap();
            assert_eq!(store.load(&key).unwrap(), Conversation::default());
            let conversation = Conversation {
                phase: Phase::Idle,
                memory: Default::default(),
            };
            let record = AuditRecord::test_record("first");
            store
                .commit(
                    &key,
                    &conversation,
                    &[record.clone(), AuditRecord::test_record("second")],
                )
                .unwrap();
        }
        let store = Store::open(&path).unwrap();
        let records: Vec<AuditRecord> = store.audit_newest_first().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].dialog, "second", "newest first");
        assert!(records[0].id > records[1].id);
    }
}
