//! The ports every service stands on: the store, the clock and the chat port
//! (how the bot speaks first). Not a service itself: it holds no policy, and
//! services share it instead of reaching into each other.

use std::sync::{Arc, RwLock};

use chrono::{DateTime, Utc};
use opsbot_dialog::Conversation;

use crate::audit::AuditRecord;
use crate::chat::{Chat, MessageHandle, Outbound};
use crate::clock::Clock;
use crate::store::{Commit, ConversationKey, Store};
use crate::RuntimeError;

pub(crate) struct Floor {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    chat: RwLock<Option<Arc<dyn Chat>>>,
    /// Woken when a request is scheduled, so the scheduler looks again.
    pub jobs_changed: tokio::sync::Notify,
    /// What the bot counts; every commit's audit records are counted here.
    pub metrics: crate::metrics::Metrics,
    /// Whether the door reaches its chat server (`None`: it never said).
    pub door_ready: RwLock<Option<Result<(), String>>>,
}

impl Floor {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Floor {
        Floor {
            store,
            clock,
            chat: RwLock::new(None),
            jobs_changed: tokio::sync::Notify::new(),
            metrics: crate::metrics::Metrics::new(),
            door_ready: RwLock::new(None),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    pub fn attach_chat(&self, chat: Arc<dyn Chat>) {
        *self.chat.write().expect("chat lock") = Some(chat);
    }

    /// The attached chat port, if a door attached one.
    pub fn chat(&self) -> Option<Arc<dyn Chat>> {
        self.chat.read().expect("chat lock").clone()
    }

    /// Sends a message on the bot's own initiative; `None` when no port is
    /// attached or the message could not be sent.
    pub async fn announce(&self, message: Outbound) -> Option<MessageHandle> {
        self.chat()?.send(message).await
    }

    /// Runs store work that flushes to disk on a blocking thread, off the
    /// async workers.
    pub async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&dyn Store) -> Result<T, RuntimeError> + Send + 'static,
    ) -> Result<T, RuntimeError> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || work(store.as_ref()))
            .await
            .map_err(|e| RuntimeError::Internal(format!("a store task failed: {e}")))?
    }

    /// Commits a step durably (see [`Store::commit`]) on a blocking thread.
    pub async fn commit(
        &self,
        key: &ConversationKey,
        conversation: &Conversation,
        change: Commit,
    ) -> Result<Vec<AuditRecord>, RuntimeError> {
        let (key, conversation) = (key.clone(), conversation.clone());
        let records = self
            .blocking(move |store| store.commit(&key, &conversation, change))
            .await?;
        self.metrics.observe_records(&records);
        Ok(records)
    }
}
