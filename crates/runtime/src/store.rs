//! Persistent state in sled: conversations keyed by (room, user), the
//! hash-chained audit trail, the action journal, execution times for the rate
//! limit, and TOTP secrets.
//!
//! A conversation's new state, the audit records and journal entries its step
//! produced are written in one transaction and flushed before the bot replies,
//! so a crash loses neither a dialog nor an audit entry, and the journal always
//! agrees with the state.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opsbot_dialog::Conversation;
use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionError, TransactionalTree};
use sled::Transactional;

use crate::audit::{AuditRecord, ChainHead};
use crate::checkpoints::Checkpoints;
use crate::seal::{self, AuditKey};
use crate::totp::TotpRecord;
use crate::RuntimeError;

mod notices;
mod recovery;

pub use recovery::Restoration;

pub use crate::key::ConversationKey;

/// Where an action is in its life; see the module docs for the guarantees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JournalStatus {
    /// Decided, committed with the `Executing` state; the program has not started.
    Planned,
    /// About to spawn or running; after a crash its outcome is unknown.
    Started,
    Finished,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub status: JournalStatus,
    pub at: DateTime<Utc>,
}

/// Everything one engine step changes, written atomically.
#[derive(Default)]
pub struct Commit {
    pub records: Vec<AuditRecord>,
    /// (request id, status)
    pub journal: Vec<(String, JournalStatus)>,
    /// A person whose execution counts towards the rate limit.
    pub execution_by: Option<String>,
}

pub(crate) const HEAD_KEY: &[u8] = b"audit-head";

#[derive(Clone)]
pub struct Store {
    pub(crate) db: sled::Db,
    /// The audit key (outside the store) and the checkpoint copy of the trail.
    pub(crate) key: AuditKey,
    pub(crate) checkpoints: Arc<Checkpoints>,
    conversations: sled::Tree,
    pub(crate) audit: sled::Tree,
    pub(crate) meta: sled::Tree,
    journal: sled::Tree,
    executions: sled::Tree,
    totp: sled::Tree,
    /// Adapter message ids already handled (value: when, as Unix milliseconds).
    seen: sled::Tree,
    /// Replies owed to a conversation whose requester was away (an action
    /// interrupted by a restart): delivered when they next write.
    notices: sled::Tree,
}

pub(crate) fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("stored types serialise")
}

impl Store {
    /// Opens the store with the audit key and checkpoint copy in their default
    /// places beside it (`audit.key`, `audit-checkpoints.log`), or where the
    /// environment says (see [`crate::seal`]).
    pub fn open(path: &Path) -> Result<Store, RuntimeError> {
        let key = AuditKey::load(&seal::default_key_file(path))?;
        Store::open_with(path, key, seal::default_checkpoints(path))
    }

    /// Opens the store with a given audit key and checkpoint copy, and
    /// reconciles the two (see [`Store::reconcile`]).
    pub fn open_with(
        path: &Path,
        key: AuditKey,
        checkpoints: std::path::PathBuf,
    ) -> Result<Store, RuntimeError> {
        let store = Store::open_db(path, key, Checkpoints::new(checkpoints))?;
        store.reconcile()?;
        Ok(store)
    }

    fn open_db(
        path: &Path,
        key: AuditKey,
        checkpoints: Checkpoints,
    ) -> Result<Store, RuntimeError> {
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
        let tree = |name: &str| {
            db.open_tree(name).map_err(|source| RuntimeError::Store {
                path: path.to_path_buf(),
                source,
            })
        };
        Ok(Store {
            conversations: tree("conversations")?,
            audit: tree("audit")?,
            meta: tree("meta")?,
            journal: tree("journal")?,
            executions: tree("executions")?,
            totp: tree("totp")?,
            seen: tree("seen")?,
            notices: tree("notices")?,
            db,
            key,
            checkpoints: Arc::new(checkpoints),
        })
    }

    pub(crate) fn error(source: sled::Error) -> RuntimeError {
        RuntimeError::Store {
            path: Default::default(),
            source,
        }
    }

    fn corrupt(what: impl Into<String>, e: serde_json::Error) -> RuntimeError {
        RuntimeError::CorruptState {
            what: what.into(),
            reason: e.to_string(),
        }
    }

    pub fn load(&self, key: &ConversationKey) -> Result<Conversation, RuntimeError> {
        match self.conversations.get(key.bytes()).map_err(Self::error)? {
            None => Ok(Conversation::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Self::corrupt(format!("conversation of {} in {}", key.user, key.room), e)
            }),
        }
    }

    /// Conversations in `room`, for finding requests that wait for approval.
    pub fn conversations_in(
        &self,
        room: &str,
    ) -> Result<Vec<(ConversationKey, Conversation)>, RuntimeError> {
        let mut prefix = room.as_bytes().to_vec();
        prefix.push(0);
        let mut found = Vec::new();
        for item in self.conversations.scan_prefix(prefix) {
            let (key, bytes) = item.map_err(Self::error)?;
            let (Some(key), Ok(conversation)) = (
                ConversationKey::from_bytes(&key),
                serde_json::from_slice(&bytes),
            ) else {
                continue;
            };
            found.push((key, conversation));
        }
        Ok(found)
    }

    /// Conversations whose action was running when the process stopped.
    pub fn executing_conversations(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        let mut found = Vec::new();
        for item in self.conversations.iter() {
            let (key, bytes) = item.map_err(Self::error)?;
            let conversation: Result<Conversation, _> = serde_json::from_slice(&bytes);
            if let (
                Some(key),
                Ok(Conversation {
                    phase: opsbot_dialog::Phase::Executing { .. },
                    ..
                }),
            ) = (ConversationKey::from_bytes(&key), conversation)
            {
                found.push(key);
            }
        }
        Ok(found)
    }

    /// Saves a conversation with the step's audit records and journal entries in
    /// one transaction, then flushes. Returns the records as stored (ids, hashes).
    pub fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError> {
        let state = json(conversation);
        let now = Utc::now();
        let stored = (
            &self.conversations,
            &self.audit,
            &self.meta,
            &self.journal,
            &self.executions,
        )
            .transaction(|(conversations, audit, meta, journal, executions)| {
                conversations.insert(key.bytes(), state.as_slice())?;
                let stored = append_chained(audit, meta, &change.records, &self.key)?;
                for (id, status) in &change.journal {
                    journal.insert(
                        id.as_bytes(),
                        json(&JournalEntry {
                            status: *status,
                            at: now,
                        }),
                    )?;
                }
                if let Some(user) = &change.execution_by {
                    executions.insert(execution_key(user, now), &[])?;
                }
                Ok(stored)
            })
            .map_err(|e: TransactionError<()>| match e {
                TransactionError::Storage(e) => Self::error(e),
                TransactionError::Abort(()) => unreachable!("the transaction never aborts"),
            })?;
        self.db.flush().map_err(Self::error)?;
        // The copy is synced too before the caller replies: a record the store
        // loses later is then found, and restored, from the copy.
        self.checkpoints.append(&stored)?;
        Ok(stored)
    }

    /// Records a message id; `false` if it was recorded before (a redelivery).
    /// Flushed before returning, so a message is handled at most once even
    /// across a crash.
    pub fn first_sighting(&self, message_id: &str) -> Result<bool, RuntimeError> {
        let now = Utc::now().timestamp_millis().to_be_bytes();
        let fresh = self
            .seen
            .compare_and_swap(message_id.as_bytes(), None as Option<&[u8]>, Some(&now[..]))
            .map_err(Self::error)?
            .is_ok();
        if fresh {
            self.db.flush().map_err(Self::error)?;
        }
        Ok(fresh)
    }

    /// Forgets message ids recorded before `before` (redeliveries are recent).
    pub fn forget_sightings(&self, before: DateTime<Utc>) -> Result<usize, RuntimeError> {
        let cut = before.timestamp_millis();
        let mut removed = 0;
        for item in self.seen.iter() {
            let (key, value) = item.map_err(Self::error)?;
            let at = value
                .as_ref()
                .try_into()
                .map(i64::from_be_bytes)
                .unwrap_or(0);
            if at < cut {
                self.seen.remove(key).map_err(Self::error)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Marks a planned action as started, durably, just before it is spawned.
    pub fn mark_started(&self, request_id: &str) -> Result<(), RuntimeError> {
        self.journal
            .insert(
                request_id.as_bytes(),
                json(&JournalEntry {
                    status: JournalStatus::Started,
                    at: Utc::now(),
                }),
            )
            .map_err(Self::error)?;
        self.db.flush().map_err(Self::error)?;
        Ok(())
    }

    pub fn journal_entry(&self, request_id: &str) -> Result<Option<JournalEntry>, RuntimeError> {
        match self
            .journal
            .get(request_id.as_bytes())
            .map_err(Self::error)?
        {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Self::corrupt("journal entry", e)),
        }
    }

    /// Executions by `user` since `since` (older entries are pruned on the way).
    pub fn executions_since(&self, user: &str, since: DateTime<Utc>) -> Result<u32, RuntimeError> {
        let start = execution_key(user, DateTime::<Utc>::MIN_UTC);
        let cut = execution_key(user, since);
        for item in self.executions.range(start..cut.clone()) {
            let (k, _) = item.map_err(Self::error)?;
            self.executions.remove(k).map_err(Self::error)?;
        }
        let mut end = user.as_bytes().to_vec();
        end.push(1);
        Ok(self.executions.range(cut..end).count() as u32)
    }

    /// Audit records, newest first.
    pub fn audit_newest_first(
        &self,
    ) -> impl Iterator<Item = Result<AuditRecord, RuntimeError>> + '_ {
        self.audit.iter().rev().map(decode_record)
    }

    /// Audit records, oldest first.
    pub fn audit_oldest_first(
        &self,
    ) -> impl Iterator<Item = Result<AuditRecord, RuntimeError>> + '_ {
        self.audit.iter().map(decode_record)
    }

    pub fn chain_head(&self) -> Result<Option<ChainHead>, RuntimeError> {
        match self.meta.get(HEAD_KEY).map_err(Self::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Self::corrupt("audit chain head", e)),
        }
    }

    pub fn totp(&self, user: &str) -> Result<Option<TotpRecord>, RuntimeError> {
        match self.totp.get(user.as_bytes()).map_err(Self::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| Self::corrupt("two-factor record", e)),
        }
    }

    pub fn put_totp(&self, user: &str, record: &TotpRecord) -> Result<(), RuntimeError> {
        self.totp
            .insert(user.as_bytes(), json(record))
            .map_err(Self::error)?;
        self.db.flush().map_err(Self::error)?;
        Ok(())
    }

    pub fn remove_totp(&self, user: &str) -> Result<bool, RuntimeError> {
        let existed = self
            .totp
            .remove(user.as_bytes())
            .map_err(Self::error)?
            .is_some();
        self.db.flush().map_err(Self::error)?;
        Ok(existed)
    }

    /// Raw access for tests that tamper with the trail on purpose.
    #[doc(hidden)]
    pub fn audit_tree(&self) -> &sled::Tree {
        &self.audit
    }
}

fn execution_key(user: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut key = user.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    key
}

fn decode_record(
    item: sled::Result<(sled::IVec, sled::IVec)>,
) -> Result<AuditRecord, RuntimeError> {
    let (_, bytes) = item.map_err(Store::error)?;
    serde_json::from_slice(&bytes).map_err(|e| Store::corrupt("audit record", e))
}

/// Appends records after the chain head, linking each to the previous hash.
fn append_chained(
    audit: &TransactionalTree,
    meta: &TransactionalTree,
    records: &[AuditRecord],
    key: &AuditKey,
) -> Result<Vec<AuditRecord>, ConflictableTransactionError<()>> {
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
                last_dialog: None,
            };
            let change = Commit {
                records: vec![
                    AuditRecord::test_record("first"),
                    AuditRecord::test_record("second"),
                ],
                journal: vec![("r1".into(), JournalStatus::Planned)],
                execution_by: Some("alice".into()),
            };
            store.commit(&key, &conversation, change).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let records: Vec<AuditRecord> = store.audit_newest_first().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].dialog, "second", "newest first");
        assert_eq!((records[1].id, records[0].id), (1, 2));
        assert_eq!(records[0].prev_hash, records[1].hash, "chained");
        assert_eq!(store.chain_head().unwrap().unwrap().hash, records[0].hash);
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
        assert_eq!(
            store
                .executions_since("alice", Utc::now() + chrono::Duration::minutes(1))
                .unwrap(),
            0
        );
        assert_eq!(
            store
                .executions_since("alic", Utc::now() - chrono::Duration::minutes(1))
                .unwrap(),
            0,
            "no prefix confusion"
        );
        assert_eq!(store.conversations_in("room").unwrap().len(), 1);
        assert!(store.first_sighting("$event1").unwrap());
        assert!(
            !store.first_sighting("$event1").unwrap(),
            "a redelivery is recognised"
        );
        assert_eq!(
            store
                .forget_sightings(Utc::now() + chrono::Duration::seconds(1))
                .unwrap(),
            1
        );
        assert!(store.first_sighting("$event1").unwrap());
        assert!(store.conversations_in("roo").unwrap().is_empty());
    }
}
