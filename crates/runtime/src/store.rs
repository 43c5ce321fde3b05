//! What the runtime keeps: conversations keyed by (room, user), the
//! hash-chained audit trail, the action journal, execution times for the rate
//! limit, TOTP secrets, handled message ids, owed notices and alert groups.
//!
//! [`Store`] is the contract; [`SledStore`] keeps it on disk (the bot's store)
//! and [`MemoryStore`] in memory (fast tests, dry experiments). Both pass one
//! round-trip suite (`store/suite.rs`). The audit chain is linked by
//! [`crate::audit::chain`]; a store only persists what it is given.
//!
//! A conversation's new state, the audit records and journal entries its step
//! produced are written in one [`Store::commit`], durable before it returns, so
//! a crash loses neither a dialog nor an audit entry, and the journal always
//! agrees with the state.

use chrono::{DateTime, Utc};
use opsbot_dialog::Conversation;
use serde::{Deserialize, Serialize};

use crate::alerts::{AlertEvent, AlertGroup, Mute};
use crate::audit::{AuditRecord, ChainHead, Verification};
use crate::totp::TotpRecord;
use crate::RuntimeError;

mod job;
mod memory;
mod recovery;
mod sealing;
mod sled_alerts;
mod sled_store;
pub use sealing::KeyPolicy;
#[cfg(test)]
mod suite;

pub use job::{Audience, Job, Post, Recurrence, Reminder, Work};
pub use memory::MemoryStore;
pub use recovery::Restoration;
pub use sled_store::SledStore;

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

/// Everything one engine step changes, written atomically, at `at` (the
/// runtime's clock: the store keeps no clock of its own, so a pinned clock in
/// conversation tests pins the rate-limit window and the journal too).
pub struct Commit {
    pub at: DateTime<Utc>,
    pub records: Vec<AuditRecord>,
    /// (request id, status)
    pub journal: Vec<(String, JournalStatus)>,
    /// A person whose execution counts towards the rate limit.
    pub execution_by: Option<String>,
    /// Scheduled request ids dealt with (run, refused, put back); removed
    /// before `schedule` is written, so a request put back stays.
    pub unschedule: Vec<String>,
    /// Requests confirmed for later, kept until they are due.
    pub schedule: Vec<Job>,
    /// The runbook lock the conversation holds after this step.
    pub lock: LockChange,
}

/// A runbook's `lock:` as a step leaves it: one run per key at a time,
/// across conversations. A hold by another conversation makes the commit
/// fail with [`RuntimeError::Locked`] and write nothing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LockChange {
    /// Not a step of a conversation: its locks stay as they are.
    #[default]
    Keep,
    /// The conversation runs (or waits in) a runbook that holds this key.
    Hold(String),
    /// It holds none (any it held is let go).
    Release,
}

impl Commit {
    /// A change that writes nothing yet, made at `at`.
    pub fn at(at: DateTime<Utc>) -> Commit {
        Commit {
            at,
            records: Vec::new(),
            journal: Vec::new(),
            execution_by: None,
            unschedule: Vec::new(),
            schedule: Vec::new(),
            lock: LockChange::Keep,
        }
    }
}

/// Audit records one after another, as a store reads them.
pub type AuditRecords<'s> = Box<dyn Iterator<Item = Result<AuditRecord, RuntimeError>> + 's>;

/// The runtime's persistent state, grouped by concern. Every method that
/// changes something is durable when it returns `Ok` (the runtime replies only
/// after that), except where it says otherwise. A backend implements the four
/// parts; [`Store`] is all of them.
pub trait Store: ConversationStore + AuditStore + SecretStore + AlertStore + Send + Sync {}

impl<T: ConversationStore + AuditStore + SecretStore + AlertStore + Send + Sync> Store for T {}

/// Conversations and what a step writes with them: the state, the action
/// journal, executions for the rate limit, handled message ids and owed
/// notices. `commit` is the one transaction boundary.
pub trait ConversationStore {
    /// A conversation's state; the default (idle) one when there is none.
    fn load(&self, key: &ConversationKey) -> Result<Conversation, RuntimeError>;

    /// Conversations in `room`, for finding requests that wait for approval.
    fn conversations_in(
        &self,
        room: &str,
    ) -> Result<Vec<(ConversationKey, Conversation)>, RuntimeError>;

    /// Conversations whose action was running when the process stopped.
    fn executing_conversations(&self) -> Result<Vec<ConversationKey>, RuntimeError>;

    /// Saves a conversation with the step's audit records (linked after the
    /// chain head), journal entries and execution, all or nothing. Returns the
    /// records as stored (ids, hashes).
    fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError>;

    /// Records a message id; `false` if it was recorded before (a redelivery),
    /// so a message is handled at most once. It may become durable only with
    /// the next flushing write (the step's commit): an id lost in a crash
    /// before it is one whose message changed nothing yet.
    fn first_sighting(&self, message_id: &str, at: DateTime<Utc>) -> Result<bool, RuntimeError>;

    /// Forgets message ids recorded before `before` (redeliveries are recent).
    fn forget_sightings(&self, before: DateTime<Utc>) -> Result<usize, RuntimeError>;

    /// Marks a planned action as started, just before it is spawned.
    fn mark_started(&self, request_id: &str, at: DateTime<Utc>) -> Result<(), RuntimeError>;

    fn journal_entry(&self, request_id: &str) -> Result<Option<JournalEntry>, RuntimeError>;

    /// Every scheduled request, soonest first (written only through
    /// [`ConversationStore::commit`]).
    fn jobs(&self) -> Result<Vec<Job>, RuntimeError>;

    /// One scheduled request by its id, if it is still kept.
    fn job(&self, id: &str) -> Result<Option<Job>, RuntimeError>;

    /// Executions by `user` since `since` (a store may prune older ones).
    fn executions_since(&self, user: &str, since: DateTime<Utc>) -> Result<u32, RuntimeError>;

    /// Adds replies owed to a conversation whose requester was away.
    fn add_notices(&self, key: &ConversationKey, texts: &[String]) -> Result<(), RuntimeError>;

    /// Replies owed to a conversation, oldest first.
    fn notices_of(&self, key: &ConversationKey) -> Result<Vec<String>, RuntimeError>;

    /// Forgets a conversation's owed replies once they were delivered.
    fn clear_notices(&self, key: &ConversationKey) -> Result<(), RuntimeError>;
}

/// The audit trail (written only through [`ConversationStore::commit`]).
pub trait AuditStore {
    fn audit_newest_first(&self) -> AuditRecords<'_>;

    fn audit_oldest_first(&self) -> AuditRecords<'_>;

    fn chain_head(&self) -> Result<Option<ChainHead>, RuntimeError>;

    /// Checks ids, links and keyed hashes of the trail (and, where the store
    /// keeps one, its copy).
    fn verify_audit(&self) -> Result<Verification, RuntimeError>;
}

/// Secrets kept per user: TOTP records.
pub trait SecretStore {
    fn totp(&self, user: &str) -> Result<Option<TotpRecord>, RuntimeError>;

    fn put_totp(&self, user: &str, record: &TotpRecord) -> Result<(), RuntimeError>;

    /// Whether there was a record to remove.
    fn remove_totp(&self, user: &str) -> Result<bool, RuntimeError>;
}

/// Alert groups, their timeline and mutes.
pub trait AlertStore {
    /// Saves alert groups, keyed by [`AlertGroup::id`], with the timeline
    /// events their change brought (all or none).
    fn save_alerts(&self, groups: &[AlertGroup], events: &[AlertEvent])
        -> Result<(), RuntimeError>;

    /// Timeline events at or after `since`, oldest first.
    fn alert_events(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AlertEvent>, RuntimeError>;

    fn alert_group(&self, id: &str) -> Result<Option<AlertGroup>, RuntimeError>;

    /// Every alert group kept, in key order.
    fn alert_groups(&self) -> Result<Vec<AlertGroup>, RuntimeError>;

    /// The alert groups of one room.
    fn alert_groups_in(&self, room: &str) -> Result<Vec<AlertGroup>, RuntimeError>;

    /// Forgets alert groups by id (their timeline events stay).
    fn remove_alert_groups(&self, ids: &[String]) -> Result<(), RuntimeError>;

    /// Saves a mute, replacing one of the same room and target.
    fn put_mute(&self, mute: &Mute) -> Result<(), RuntimeError>;

    /// Whether there was a mute to remove ([`Mute::id`]).
    fn remove_mute(&self, id: &str) -> Result<bool, RuntimeError>;

    /// Mutes of one room (expired ones included until removed).
    fn mutes_in(&self, room: &str) -> Result<Vec<Mute>, RuntimeError>;
}

pub(crate) fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("stored types serialise")
}

pub(crate) fn corrupt(what: impl Into<String>, e: serde_json::Error) -> RuntimeError {
    RuntimeError::CorruptState {
        what: what.into(),
        reason: e.to_string(),
    }
}
