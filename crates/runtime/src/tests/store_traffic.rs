//! How much store work one message costs: every call, counted by a wrapper
//! around the sled store, and the flushes to disk the store itself counts (a
//! flush is an fsync: the price of durability, paid before a reply). Printed, and held
//! to a bound, for a confirmed request on both packs — the path a Matrix
//! message takes (an id to deduplicate, through the ingress).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use opsbot_dialog::Conversation;

use super::*;
use crate::alerts::{AlertEvent, AlertGroup, Mute};
use crate::audit::{ChainHead, Verification};
use crate::store::{
    AlertStore, AuditRecords, AuditStore, ConversationStore, JournalEntry, SecretStore, SledStore,
};
use crate::TotpRecord;

#[derive(Default)]
struct Counts {
    calls: BTreeMap<&'static str, usize>,
}

impl Counts {
    fn total(&self) -> usize {
        self.calls.values().sum()
    }
}

struct Counting {
    inner: Arc<SledStore>,
    counts: Arc<Mutex<Counts>>,
}

impl Counting {
    fn count(&self, method: &'static str) {
        *self.counts.lock().unwrap().calls.entry(method).or_default() += 1;
    }
}

impl ConversationStore for Counting {
    fn load(&self, key: &ConversationKey) -> Result<Conversation, RuntimeError> {
        self.count("load");
        self.inner.load(key)
    }

    fn conversations_in(
        &self,
        room: &str,
    ) -> Result<Vec<(ConversationKey, Conversation)>, RuntimeError> {
        self.count("conversations_in");
        self.inner.conversations_in(room)
    }

    fn executing_conversations(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        self.count("executing_conversations");
        self.inner.executing_conversations()
    }

    fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError> {
        self.count("commit");
        self.inner.commit(key, conversation, change)
    }

    fn first_sighting(&self, message_id: &str, at: DateTime<Utc>) -> Result<bool, RuntimeError> {
        self.count("first_sighting");
        self.inner.first_sighting(message_id, at)
    }

    fn forget_sightings(&self, before: DateTime<Utc>) -> Result<usize, RuntimeError> {
        self.count("forget_sightings");
        self.inner.forget_sightings(before)
    }

    fn mark_started(&self, request_id: &str, at: DateTime<Utc>) -> Result<(), RuntimeError> {
        self.count("mark_started");
        self.inner.mark_started(request_id, at)
    }

    fn journal_entry(&self, request_id: &str) -> Result<Option<JournalEntry>, RuntimeError> {
        self.count("journal_entry");
        self.inner.journal_entry(request_id)
    }

    fn job(&self, id: &str) -> Result<Option<crate::store::Job>, RuntimeError> {
        self.count("job");
        self.inner.job(id)
    }

    fn jobs(&self) -> Result<Vec<crate::store::Job>, RuntimeError> {
        self.count("jobs");
        self.inner.jobs()
    }

    fn executions_since(&self, user: &str, since: DateTime<Utc>) -> Result<u32, RuntimeError> {
        self.count("executions_since");
        self.inner.executions_since(user, since)
    }

    fn add_notices(&self, key: &ConversationKey, texts: &[String]) -> Result<(), RuntimeError> {
        self.count("add_notices");
        self.inner.add_notices(key, texts)
    }

    fn notices_of(&self, key: &ConversationKey) -> Result<Vec<String>, RuntimeError> {
        self.count("notices_of");
        self.inner.notices_of(key)
    }

    fn clear_notices(&self, key: &ConversationKey) -> Result<(), RuntimeError> {
        self.count("clear_notices");
        self.inner.clear_notices(key)
    }
}

impl AuditStore for Counting {
    fn audit_newest_first(&self) -> AuditRecords<'_> {
        self.count("audit_newest_first");
        self.inner.audit_newest_first()
    }

    fn audit_oldest_first(&self) -> AuditRecords<'_> {
        self.count("audit_oldest_first");
        self.inner.audit_oldest_first()
    }

    fn chain_head(&self) -> Result<Option<ChainHead>, RuntimeError> {
        self.count("chain_head");
        self.inner.chain_head()
    }

    fn verify_audit(&self) -> Result<Verification, RuntimeError> {
        self.count("verify_audit");
        self.inner.verify_audit()
    }
}

impl SecretStore for Counting {
    fn totp(&self, user: &str) -> Result<Option<TotpRecord>, RuntimeError> {
        self.count("totp");
        self.inner.totp(user)
    }

    fn put_totp(&self, user: &str, record: &TotpRecord) -> Result<(), RuntimeError> {
        self.count("put_totp");
        self.inner.put_totp(user, record)
    }

    fn remove_totp(&self, user: &str) -> Result<bool, RuntimeError> {
        self.count("remove_totp");
        self.inner.remove_totp(user)
    }
}

impl AlertStore for Counting {
    fn save_alerts(
        &self,
        groups: &[AlertGroup],
        events: &[AlertEvent],
    ) -> Result<(), RuntimeError> {
        self.count("save_alerts");
        self.inner.save_alerts(groups, events)
    }

    fn alert_events(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AlertEvent>, RuntimeError> {
        self.count("alert_events");
        self.inner.alert_events(since)
    }

    fn alert_group(&self, id: &str) -> Result<Option<AlertGroup>, RuntimeError> {
        self.count("alert_group");
        self.inner.alert_group(id)
    }

    fn alert_groups(&self) -> Result<Vec<AlertGroup>, RuntimeError> {
        self.count("alert_groups");
        self.inner.alert_groups()
    }

    fn alert_groups_in(&self, room: &str) -> Result<Vec<AlertGroup>, RuntimeError> {
        self.count("alert_groups_in");
        self.inner.alert_groups_in(room)
    }

    fn remove_alert_groups(&self, ids: &[String]) -> Result<(), RuntimeError> {
        self.count("remove_alert_groups");
        self.inner.remove_alert_groups(ids)
    }

    fn put_mute(&self, mute: &Mute) -> Result<(), RuntimeError> {
        self.count("put_mute");
        self.inner.put_mute(mute)
    }

    fn remove_mute(&self, id: &str) -> Result<bool, RuntimeError> {
        self.count("remove_mute");
        self.inner.remove_mute(id)
    }

    fn mutes_in(&self, room: &str) -> Result<Vec<Mute>, RuntimeError> {
        self.count("mutes_in");
        self.inner.mutes_in(room)
    }
}

#[test]
fn a_confirmed_request_costs_few_store_calls_and_flushes_on_two_packs() {
    for &(name, user, request, _, _) in REQUESTS {
        let state = tempfile::tempdir().unwrap();
        let counts = Arc::new(Mutex::new(Counts::default()));
        let sled = Arc::new(SledStore::open(&state.path().join("opsbot.db")).unwrap());
        let opened_with = sled.flushes();
        let store = Counting {
            inner: sled.clone(),
            counts: counts.clone(),
        };
        let bot = bot_on(name, state.path(), store);
        let key = ConversationKey::new("room", user);
        runtime().block_on(async {
            for (id, text) in [("$1", request), ("$2", "yes")] {
                let envelope = Envelope {
                    message_id: Some(id.to_string()),
                    ..Envelope::new(key.clone(), text)
                };
                let mut replies = Vec::new();
                let receipt = bot
                    .ingress()
                    .receive(envelope, &mut |r: String| replies.push(r))
                    .await;
                assert_eq!(receipt, Receipt::Handled, "{name}: {replies:?}");
            }
        });
        assert_eq!(runs(state.path()).len(), 1, "{name}: it ran");
        let counts = counts.lock().unwrap();
        let flushes = sled.flushes() - opened_with;
        eprintln!(
            "{name}: a confirmed request (2 messages): {} store calls, {flushes} flushes: {:?}",
            counts.total(),
            counts.calls
        );
        // The ask, the plan and the result are each committed once; the
        // journal's "started" is flushed before the program runs. A message
        // id is made durable by the commit that follows it, not on its own.
        assert_eq!(flushes, 4, "{name}: {:?}", counts.calls);
        assert!(counts.total() <= 16, "{name}: {:?}", counts.calls);
    }
}
