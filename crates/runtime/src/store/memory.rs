//! A store that keeps everything in memory: the same contract as the sled
//! store (one lock makes each commit all-or-nothing), nothing on disk. For
//! fast tests of the bot and for runs whose state may vanish with the process.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use opsbot_dialog::{Conversation, Phase};

use super::{
    AlertStore, AuditRecords, AuditStore, Commit, ConversationKey, ConversationStore, Job,
    JournalEntry, JournalStatus, LockChange, SecretStore,
};
use crate::alerts::{AlertEvent, AlertGroup, Mute};
use crate::audit::{self, AuditRecord, ChainHead, Verification};
use crate::seal::AuditKey;
use crate::totp::TotpRecord;
use crate::RuntimeError;

#[derive(Default)]
struct State {
    /// Ordered like the sled store's keys, so listings agree.
    conversations: BTreeMap<ConversationKey, Conversation>,
    audit: Vec<AuditRecord>,
    head: Option<ChainHead>,
    journal: HashMap<String, JournalEntry>,
    /// Per person, the times of their executions (oldest first).
    executions: HashMap<String, Vec<DateTime<Utc>>>,
    totp: HashMap<String, TotpRecord>,
    seen: HashMap<String, DateTime<Utc>>,
    notices: HashMap<ConversationKey, Vec<String>>,
    alerts: BTreeMap<String, AlertGroup>,
    alert_events: Vec<AlertEvent>,
    mutes: BTreeMap<String, Mute>,
    jobs: BTreeMap<String, Job>,
    /// Runbook lock → the conversation holding it.
    locks: BTreeMap<String, ConversationKey>,
}

pub struct MemoryStore {
    key: AuditKey,
    state: Mutex<State>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::new()
    }
}

impl MemoryStore {
    /// An empty store whose audit chain is keyed by a fresh random key.
    pub fn new() -> MemoryStore {
        MemoryStore::with_key(AuditKey::from_bytes(rand::random()))
    }

    pub fn with_key(key: AuditKey) -> MemoryStore {
        MemoryStore {
            key,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves no half-applied commit: every
        // change below is computed first and applied without failing.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl ConversationStore for MemoryStore {
    fn load(&self, key: &ConversationKey) -> Result<Conversation, RuntimeError> {
        Ok(self
            .state()
            .conversations
            .get(key)
            .cloned()
            .unwrap_or_default())
    }

    fn conversations_in(
        &self,
        room: &str,
    ) -> Result<Vec<(ConversationKey, Conversation)>, RuntimeError> {
        Ok(self
            .state()
            .conversations
            .iter()
            .filter(|(key, _)| key.room == room)
            .map(|(key, conversation)| (key.clone(), conversation.clone()))
            .collect())
    }

    fn executing_conversations(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        Ok(self
            .state()
            .conversations
            .iter()
            .filter(|(_, c)| matches!(c.phase, Phase::Executing { .. }))
            .map(|(key, _)| key.clone())
            .collect())
    }

    fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError> {
        let now = change.at;
        let mut state = self.state();
        // The lock first: a hold by another conversation writes nothing.
        if let LockChange::Hold(lock) = &change.lock {
            if let Some(holder) = state.locks.get(lock).filter(|h| *h != key) {
                return Err(RuntimeError::Locked {
                    key: lock.clone(),
                    holder: holder.user.clone(),
                });
            }
        }
        if change.lock != LockChange::Keep {
            state.locks.retain(|_, holder| holder != key);
        }
        if let LockChange::Hold(lock) = &change.lock {
            state.locks.insert(lock.clone(), key.clone());
        }
        let (stored, head) = audit::chain(
            state.head.clone().unwrap_or_default(),
            &change.records,
            &self.key,
        );
        state
            .conversations
            .insert(key.clone(), conversation.clone());
        if !stored.is_empty() {
            state.audit.extend(stored.iter().cloned());
            state.head = Some(head);
        }
        for (id, status) in change.journal {
            state.journal.insert(id, JournalEntry { status, at: now });
        }
        if let Some(person) = change.execution_by {
            state.executions.entry(person).or_default().push(now);
        }
        for id in &change.unschedule {
            state.jobs.remove(id);
        }
        for job in change.schedule {
            state.jobs.insert(job.id().to_string(), job);
        }
        Ok(stored)
    }

    fn job(&self, id: &str) -> Result<Option<Job>, RuntimeError> {
        Ok(self.state().jobs.get(id).cloned())
    }

    fn jobs(&self) -> Result<Vec<Job>, RuntimeError> {
        let mut jobs: Vec<Job> = self.state().jobs.values().cloned().collect();
        jobs.sort_by_key(Job::due_at);
        Ok(jobs)
    }

    fn first_sighting(&self, message_id: &str, at: DateTime<Utc>) -> Result<bool, RuntimeError> {
        let mut state = self.state();
        if state.seen.contains_key(message_id) {
            return Ok(false);
        }
        state.seen.insert(message_id.to_string(), at);
        Ok(true)
    }

    fn forget_sightings(&self, before: DateTime<Utc>) -> Result<usize, RuntimeError> {
        let mut state = self.state();
        let count = state.seen.len();
        state.seen.retain(|_, at| *at >= before);
        Ok(count - state.seen.len())
    }

    fn mark_started(&self, request_id: &str, at: DateTime<Utc>) -> Result<(), RuntimeError> {
        self.state().journal.insert(
            request_id.to_string(),
            JournalEntry {
                status: JournalStatus::Started,
                at,
            },
        );
        Ok(())
    }

    fn journal_entry(&self, request_id: &str) -> Result<Option<JournalEntry>, RuntimeError> {
        Ok(self.state().journal.get(request_id).cloned())
    }

    fn executions_since(&self, user: &str, since: DateTime<Utc>) -> Result<u32, RuntimeError> {
        let mut state = self.state();
        let Some(times) = state.executions.get_mut(user) else {
            return Ok(0);
        };
        times.retain(|at| *at >= since);
        Ok(times.len() as u32)
    }

    fn add_notices(&self, key: &ConversationKey, texts: &[String]) -> Result<(), RuntimeError> {
        if !texts.is_empty() {
            let mut state = self.state();
            state
                .notices
                .entry(key.clone())
                .or_default()
                .extend_from_slice(texts);
        }
        Ok(())
    }

    fn notices_of(&self, key: &ConversationKey) -> Result<Vec<String>, RuntimeError> {
        Ok(self.state().notices.get(key).cloned().unwrap_or_default())
    }

    fn clear_notices(&self, key: &ConversationKey) -> Result<(), RuntimeError> {
        self.state().notices.remove(key);
        Ok(())
    }
}

impl AuditStore for MemoryStore {
    fn audit_newest_first(&self) -> AuditRecords<'_> {
        let records = self.state().audit.clone();
        Box::new(records.into_iter().rev().map(Ok))
    }

    fn audit_oldest_first(&self) -> AuditRecords<'_> {
        let records = self.state().audit.clone();
        Box::new(records.into_iter().map(Ok))
    }

    fn chain_head(&self) -> Result<Option<ChainHead>, RuntimeError> {
        Ok(self.state().head.clone())
    }

    fn verify_audit(&self) -> Result<Verification, RuntimeError> {
        audit::verify(
            self.audit_oldest_first(),
            self.chain_head()?,
            &self.key,
            None,
        )
    }
}

impl SecretStore for MemoryStore {
    fn totp(&self, user: &str) -> Result<Option<TotpRecord>, RuntimeError> {
        Ok(self.state().totp.get(user).cloned())
    }

    fn put_totp(&self, user: &str, record: &TotpRecord) -> Result<(), RuntimeError> {
        self.state().totp.insert(user.to_string(), record.clone());
        Ok(())
    }

    fn remove_totp(&self, user: &str) -> Result<bool, RuntimeError> {
        Ok(self.state().totp.remove(user).is_some())
    }
}

impl AlertStore for MemoryStore {
    fn save_alerts(
        &self,
        groups: &[AlertGroup],
        events: &[AlertEvent],
    ) -> Result<(), RuntimeError> {
        let mut state = self.state();
        for group in groups {
            let id = AlertGroup::id(&group.room, &group.group_key);
            state.alerts.insert(id, group.clone());
        }
        state.alert_events.extend_from_slice(events);
        // Oldest first, like the sled store's time-ordered keys.
        state.alert_events.sort_by_key(|e| e.at);
        Ok(())
    }

    fn alert_events(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AlertEvent>, RuntimeError> {
        Ok(self
            .state()
            .alert_events
            .iter()
            .filter(|e| since.is_none_or(|s| e.at >= s))
            .cloned()
            .collect())
    }

    fn alert_group(&self, id: &str) -> Result<Option<AlertGroup>, RuntimeError> {
        Ok(self.state().alerts.get(id).cloned())
    }

    fn alert_groups(&self) -> Result<Vec<AlertGroup>, RuntimeError> {
        Ok(self.state().alerts.values().cloned().collect())
    }

    fn remove_alert_groups(&self, ids: &[String]) -> Result<(), RuntimeError> {
        let mut state = self.state();
        for id in ids {
            state.alerts.remove(id);
        }
        Ok(())
    }

    fn put_mute(&self, mute: &Mute) -> Result<(), RuntimeError> {
        self.state()
            .mutes
            .insert(Mute::id(&mute.room, &mute.target), mute.clone());
        Ok(())
    }

    fn remove_mute(&self, id: &str) -> Result<bool, RuntimeError> {
        Ok(self.state().mutes.remove(id).is_some())
    }

    fn mutes_in(&self, room: &str) -> Result<Vec<Mute>, RuntimeError> {
        Ok(self
            .state()
            .mutes
            .values()
            .filter(|m| m.room == room)
            .cloned()
            .collect())
    }

    fn alert_groups_in(&self, room: &str) -> Result<Vec<AlertGroup>, RuntimeError> {
        Ok(self
            .state()
            .alerts
            .values()
            .filter(|g| g.room == room)
            .cloned()
            .collect())
    }
}
