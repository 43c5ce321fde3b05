//! The on-disk store: sled trees for each kind of state, one transaction per
//! step, flushed before returning; the audit trail is also copied to the
//! checkpoint file (see [`crate::checkpoints`]) and reconciled with it at open
//! (`recovery.rs`).

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use opsbot_dialog::Conversation;
use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::sealing::KeyPolicy;
use super::{
    corrupt, json, Commit, ConversationStore, Job, JournalEntry, JournalStatus, LockChange,
};
use crate::audit::AuditRecord;
use crate::checkpoints::Checkpoints;
use crate::key::ConversationKey;
use crate::seal::{self, AuditKey};
use crate::RuntimeError;

use records::append_chained;

pub(crate) const HEAD_KEY: &[u8] = b"audit-head";

#[derive(Clone)]
pub struct SledStore {
    pub(crate) db: sled::Db,
    /// Where the store lives (named in errors).
    pub(crate) path: std::path::PathBuf,
    /// The audit key (outside the store) and the checkpoint copy of the trail.
    pub(crate) key: AuditKey,
    pub(crate) checkpoints: Arc<Checkpoints>,
    /// Flushes to disk since the store was opened (each is an fsync;
    /// shared by its clones).
    flushes: Arc<std::sync::atomic::AtomicU64>,
    conversations: sled::Tree,
    pub(crate) audit: sled::Tree,
    pub(crate) meta: sled::Tree,
    journal: sled::Tree,
    executions: sled::Tree,
    /// Request id → scheduled [`Job`].
    jobs: sled::Tree,
    pub(super) totp: sled::Tree,
    /// Adapter message ids already handled (value: when, as Unix milliseconds).
    seen: sled::Tree,
    /// Replies owed to a conversation whose requester was away (an action
    /// interrupted by a restart): delivered when they next write.
    notices: sled::Tree,
    /// Alert groups by (room, group key), with the message that shows each.
    pub(super) alerts: sled::Tree,
    /// The alert timeline, keyed by time (microseconds) and a sequence number.
    pub(super) alert_events: sled::Tree,
    /// Mutes by (room, target).
    pub(super) mutes: sled::Tree,
    /// Runbook locks: `k` + lock → the holding conversation's key; `h` +
    /// conversation key → the lock it holds.
    locks: sled::Tree,
}

impl SledStore {
    /// Opens the store with the audit key and checkpoint copy in their default
    /// places beside it (`audit.key`, `audit-checkpoints.log`), or where the
    /// environment says (see [`crate::seal`]).
    pub fn open(path: &Path) -> Result<SledStore, RuntimeError> {
        let key = AuditKey::load(&seal::default_key_file(path))?;
        SledStore::open_with(path, key, seal::default_checkpoints(path))
    }

    /// As [`SledStore::open`], with a choice of what to do when the audit key
    /// is not the one the trail was sealed with (see `KeyPolicy`).
    pub fn open_with_policy(path: &Path, policy: KeyPolicy) -> Result<SledStore, RuntimeError> {
        let key = AuditKey::load(&seal::default_key_file(path))?;
        SledStore::open_checked(path, key, seal::default_checkpoints(path), policy)
    }

    /// Opens the store with a given audit key and checkpoint copy, and
    /// reconciles the two (see `SledStore::reconcile`).
    pub fn open_with(
        path: &Path,
        key: AuditKey,
        checkpoints: std::path::PathBuf,
    ) -> Result<SledStore, RuntimeError> {
        SledStore::open_checked(path, key, checkpoints, KeyPolicy::Refuse)
    }

    fn open_checked(
        path: &Path,
        key: AuditKey,
        checkpoints: std::path::PathBuf,
        policy: KeyPolicy,
    ) -> Result<SledStore, RuntimeError> {
        let store = SledStore::open_db(path, key, Checkpoints::new(checkpoints))?;
        store.check_key(policy)?;
        store.reconcile()?;
        Ok(store)
    }

    fn open_db(
        path: &Path,
        key: AuditKey,
        checkpoints: Checkpoints,
    ) -> Result<SledStore, RuntimeError> {
        // The store holds TOTP secrets and the audit trail: its folder and
        // the state folder around it are owner-only, never writable by others.
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::private::private_dir(parent)?;
        }
        if path.exists() {
            crate::private::private_dir(path)?;
        }
        crate::private::private_file(checkpoints.path())?;
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
                source: Box::new(other),
            },
        })?;
        crate::private::private_dir(path)?;
        crate::private::tighten_tree(path)?;
        let tree = |name: &str| {
            db.open_tree(name).map_err(|source| RuntimeError::Store {
                path: path.to_path_buf(),
                source: Box::new(source),
            })
        };
        Ok(SledStore {
            path: path.to_path_buf(),
            conversations: tree("conversations")?,
            audit: tree("audit")?,
            meta: tree("meta")?,
            journal: tree("journal")?,
            executions: tree("executions")?,
            jobs: tree("jobs")?,
            totp: tree("totp")?,
            seen: tree("seen")?,
            notices: tree("notices")?,
            alerts: tree("alerts")?,
            alert_events: tree("alert_events")?,
            mutes: tree("mutes")?,
            locks: tree("locks")?,
            db,
            key,
            checkpoints: Arc::new(checkpoints),
            flushes: Default::default(),
        })
    }

    /// Writes everything to disk (an fsync), counted.
    pub(crate) fn flush(&self) -> Result<(), RuntimeError> {
        self.flushes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.db.flush().map_err(SledStore::error)?;
        Ok(())
    }

    /// How many times the store has flushed to disk since it was opened.
    pub fn flushes(&self) -> u64 {
        self.flushes.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(crate) fn error(source: sled::Error) -> RuntimeError {
        RuntimeError::Store {
            path: Default::default(),
            source: Box::new(source),
        }
    }

    /// Raw access for tests that tamper with the trail on purpose.
    #[doc(hidden)]
    pub fn audit_tree(&self) -> &sled::Tree {
        &self.audit
    }
}

impl ConversationStore for SledStore {
    fn load(&self, key: &ConversationKey) -> Result<Conversation, RuntimeError> {
        match self
            .conversations
            .get(key.bytes())
            .map_err(SledStore::error)?
        {
            None => Ok(Conversation::default()),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("conversation of {} in {}", key.user, key.room), e)),
        }
    }

    /// Conversations in `room`, for finding requests that wait for approval.
    fn conversations_in(
        &self,
        room: &str,
    ) -> Result<Vec<(ConversationKey, Conversation)>, RuntimeError> {
        let mut prefix = room.as_bytes().to_vec();
        prefix.push(0);
        let mut found = Vec::new();
        for item in self.conversations.scan_prefix(prefix) {
            let (key, bytes) = item.map_err(SledStore::error)?;
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
    fn executing_conversations(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        let mut found = Vec::new();
        for item in self.conversations.iter() {
            let (key, bytes) = item.map_err(SledStore::error)?;
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
    fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError> {
        let state = json(conversation);
        let now = change.at;
        let jobs: Vec<(String, Vec<u8>)> = change
            .schedule
            .iter()
            .map(|job| (job.id().to_string(), json(job)))
            .collect();
        let stored = (
            &self.conversations,
            &self.audit,
            &self.meta,
            &self.journal,
            &self.executions,
            &self.jobs,
            &self.locks,
        )
            .transaction(
                |(conversations, audit, meta, journal, executions, scheduled, locks)| {
                    // The lock first: a hold by another conversation aborts
                    // the whole step, so nothing of it is written.
                    if change.lock != LockChange::Keep {
                        let holder_key = [b"h".as_slice(), &key.bytes()].concat();
                        if let LockChange::Hold(lock) = &change.lock {
                            let lock_key = [b"k".as_slice(), lock.as_bytes()].concat();
                            if let Some(holder) = locks.get(&lock_key)? {
                                if holder.as_ref() != key.bytes().as_slice() {
                                    let holder = ConversationKey::from_bytes(&holder).map_or_else(
                                        || "another conversation".to_string(),
                                        |k| k.user,
                                    );
                                    return Err(ConflictableTransactionError::Abort((
                                        lock.clone(),
                                        holder,
                                    )));
                                }
                            }
                        }
                        if let Some(held) = locks.remove(holder_key.as_slice())? {
                            locks.remove([b"k".as_slice(), &held].concat())?;
                        }
                        if let LockChange::Hold(lock) = &change.lock {
                            locks
                                .insert([b"k".as_slice(), lock.as_bytes()].concat(), key.bytes())?;
                            locks.insert(holder_key, lock.as_bytes())?;
                        }
                    }
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
                    for id in &change.unschedule {
                        scheduled.remove(id.as_bytes())?;
                    }
                    for (id, job) in &jobs {
                        scheduled.insert(id.as_bytes(), job.as_slice())?;
                    }
                    Ok(stored)
                },
            )
            .map_err(|e: TransactionError<(String, String)>| match e {
                TransactionError::Storage(e) => SledStore::error(e),
                TransactionError::Abort((key, holder)) => RuntimeError::Locked { key, holder },
            })?;
        self.flush()?;
        // The copy is synced too before the caller replies: a record the store
        // loses later is then found, and restored, from the copy.
        self.checkpoints.append(&stored)?;
        Ok(stored)
    }

    /// Records a message id; `false` if it was recorded before (a redelivery).
    /// Not flushed on its own: the step's commit that follows (flushed
    /// before any reply or action) makes it durable with the step. A crash
    /// before that commit loses the id together with everything the message
    /// did, so the redelivered message is handled once, as if for the first
    /// time; nothing it asked for has run.
    fn first_sighting(&self, message_id: &str, at: DateTime<Utc>) -> Result<bool, RuntimeError> {
        let now = at.timestamp_millis().to_be_bytes();
        let fresh = self
            .seen
            .compare_and_swap(message_id.as_bytes(), None as Option<&[u8]>, Some(&now[..]))
            .map_err(SledStore::error)?
            .is_ok();
        Ok(fresh)
    }

    /// Forgets message ids recorded before `before` (redeliveries are recent).
    fn forget_sightings(&self, before: DateTime<Utc>) -> Result<usize, RuntimeError> {
        let cut = before.timestamp_millis();
        let mut removed = 0;
        for item in self.seen.iter() {
            let (key, value) = item.map_err(SledStore::error)?;
            let at = value
                .as_ref()
                .try_into()
                .map(i64::from_be_bytes)
                .unwrap_or(0);
            if at < cut {
                self.seen.remove(key).map_err(SledStore::error)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Marks a planned action as started, durably, just before it is spawned.
    fn mark_started(&self, request_id: &str, at: DateTime<Utc>) -> Result<(), RuntimeError> {
        self.journal
            .insert(
                request_id.as_bytes(),
                json(&JournalEntry {
                    status: JournalStatus::Started,
                    at,
                }),
            )
            .map_err(SledStore::error)?;
        self.flush()?;
        Ok(())
    }

    fn journal_entry(&self, request_id: &str) -> Result<Option<JournalEntry>, RuntimeError> {
        match self
            .journal
            .get(request_id.as_bytes())
            .map_err(SledStore::error)?
        {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("journal entry", e)),
        }
    }

    fn job(&self, id: &str) -> Result<Option<Job>, RuntimeError> {
        match self.jobs.get(id.as_bytes()).map_err(SledStore::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("a scheduled request", e)),
        }
    }

    fn jobs(&self) -> Result<Vec<Job>, RuntimeError> {
        let mut jobs = Vec::new();
        for entry in self.jobs.iter() {
            let (_, bytes) = entry.map_err(SledStore::error)?;
            jobs.push(
                serde_json::from_slice::<Job>(&bytes)
                    .map_err(|e| corrupt("a scheduled request", e))?,
            );
        }
        jobs.sort_by_key(Job::due_at);
        Ok(jobs)
    }

    /// Executions by `user` since `since` (older entries are pruned on the way).
    fn executions_since(&self, user: &str, since: DateTime<Utc>) -> Result<u32, RuntimeError> {
        let start = execution_key(user, DateTime::<Utc>::MIN_UTC);
        let cut = execution_key(user, since);
        for item in self.executions.range(start..cut.clone()) {
            let (k, _) = item.map_err(SledStore::error)?;
            self.executions.remove(k).map_err(SledStore::error)?;
        }
        let mut end = user.as_bytes().to_vec();
        end.push(1);
        Ok(self.executions.range(cut..end).count() as u32)
    }

    fn add_notices(&self, key: &ConversationKey, texts: &[String]) -> Result<(), RuntimeError> {
        if texts.is_empty() {
            return Ok(());
        }
        let mut owed = self.notices_of(key)?;
        owed.extend_from_slice(texts);
        self.notices
            .insert(key.bytes(), json(&owed))
            .map_err(SledStore::error)?;
        self.flush()?;
        Ok(())
    }

    fn notices_of(&self, key: &ConversationKey) -> Result<Vec<String>, RuntimeError> {
        match self.notices.get(key.bytes()).map_err(SledStore::error)? {
            None => Ok(Vec::new()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| corrupt("owed notices", e)),
        }
    }

    fn clear_notices(&self, key: &ConversationKey) -> Result<(), RuntimeError> {
        if self
            .notices
            .remove(key.bytes())
            .map_err(SledStore::error)?
            .is_some()
        {
            self.flush()?;
        }
        Ok(())
    }
}

fn execution_key(user: &str, at: DateTime<Utc>) -> Vec<u8> {
    let mut key = user.as_bytes().to_vec();
    key.push(0);
    key.extend_from_slice(&at.timestamp_micros().to_be_bytes());
    key
}

mod records;
#[cfg(test)]
mod tests;
