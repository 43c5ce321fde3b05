//! After a crash: actions a dead process left running are resolved and
//! audited when an adapter starts, and the requester is told once, when they
//! next write.

use opsbot_dialog::{step, Conversation, Input, Phase};

use super::{Bot, Loaded, Reply};
use crate::chat::Outbound;
use crate::store::{ConversationKey, JournalStatus};
use crate::RuntimeError;

impl Bot {
    /// Resolves every action a previous process left unfinished, in every
    /// conversation: each is audited at once ("outcome unknown", or "not run"
    /// when it never started) and what the requester must hear is kept as an
    /// told in the room at once through the attached [`crate::Chat`] port, or
    /// else kept as an owed notice, delivered when they next write. Every
    /// adapter calls this when it starts. Returns the conversations that still
    /// owe notices.
    pub async fn resolve_interrupted(&self) -> Result<Vec<ConversationKey>, RuntimeError> {
        let mut owed = Vec::new();
        for key in self.store.executing_conversations()? {
            let lock = self.lock_for(&key);
            let _in_order = lock.lock().await;
            let mut replies = Vec::new();
            let conversation = self.load(&key, &mut |r| replies.push(r))?;
            self.recover(&self.loaded(), &key, conversation, &mut |r| replies.push(r))
                .await?;
            tracing::warn!(room = %key.room, user = %key.user, "an action interrupted by a restart was resolved and audited");
            // Said in the room at once where a port is attached; otherwise (or
            // if sending fails) owed until the requester next writes.
            let mut unsent = Vec::new();
            for text in replies {
                let message = Outbound {
                    room: key.room.clone(),
                    text: text.clone(),
                    mention: Some(key.user.clone()),
                };
                if !unsent.is_empty() || self.announce(message).await.is_none() {
                    unsent.push(text);
                }
            }
            if !unsent.is_empty() {
                self.store.add_notices(&key, &unsent)?;
                owed.push(key);
            }
        }
        Ok(owed)
    }

    /// Delivers the replies owed to a conversation (see
    /// [`Bot::resolve_interrupted`]) and forgets them.
    pub async fn deliver_notices(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let lock = self.lock_for(key);
        let _in_order = lock.lock().await;
        self.deliver_owed(key, reply)
    }

    pub(super) fn deliver_owed(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let owed = self.store.notices_of(key)?;
        if owed.is_empty() {
            return Ok(());
        }
        for text in owed {
            reply.say(text);
        }
        self.store.clear_notices(key)
    }

    /// Resolves interrupted actions (all conversations) and tells this one
    /// what it is owed; an adapter with one user (the shell) calls it at start.
    pub async fn resume(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        self.start_adapter().await?;
        self.deliver_notices(key, reply).await
    }

    /// A conversation found `Executing` under its lock was left by a process
    /// that died before recording the outcome: the journal tells whether the
    /// program had started. Nothing is re-run.
    pub(super) async fn recover(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
        conversation: Conversation,
        reply: &mut Reply<'_>,
    ) -> Result<Conversation, RuntimeError> {
        let Phase::Executing { request } = &conversation.phase else {
            return Ok(conversation);
        };
        let started = self
            .store
            .journal_entry(&request.id)?
            .is_some_and(|e| e.status != JournalStatus::Planned);
        let ctx = self.context(loaded, key, false)?;
        let transition = step(
            &loaded.project,
            conversation,
            Input::Interrupted { started },
            &ctx,
        );
        self.apply(loaded, key, transition, Vec::new(), Vec::new(), reply)
            .await
    }
}
