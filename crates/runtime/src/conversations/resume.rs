//! After a crash: an action a dead process left running is resolved and
//! audited (nothing is re-run), and what its requester must hear is said in
//! the room at once through the chat port, or else kept as an owed notice
//! and said before anything else when they next write.

use opsbot_dialog::{step, Conversation, Input, Phase};

use super::Conversations;
use crate::chat::Outbound;
use crate::model::Loaded;
use crate::reply::Reply;
use crate::store::{ConversationKey, JournalStatus};
use crate::RuntimeError;

impl Conversations {
    /// Resolves the action `key`'s conversation was left running (in its
    /// worker, at start): audited at once, told in the room, or owed.
    /// Returns whether notices are still owed.
    pub(crate) async fn resolve_interrupted(
        &self,
        loaded: &Loaded,
        key: &ConversationKey,
    ) -> Result<bool, RuntimeError> {
        let mut replies = Vec::new();
        let conversation = self.load(key, &mut |r| replies.push(r))?;
        self.recover(loaded, key, conversation, &mut |r| replies.push(r))
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
            if !unsent.is_empty() || self.floor.announce(message).await.is_none() {
                unsent.push(text);
            }
        }
        if unsent.is_empty() {
            return Ok(false);
        }
        let key = key.clone();
        self.floor
            .blocking(move |store| store.add_notices(&key, &unsent))
            .await?;
        Ok(true)
    }

    /// Says the replies owed to a conversation and forgets them.
    pub(crate) async fn deliver_owed(
        &self,
        key: &ConversationKey,
        reply: &mut Reply<'_>,
    ) -> Result<(), RuntimeError> {
        let owed = self.floor.store.notices_of(key)?;
        if owed.is_empty() {
            return Ok(());
        }
        for text in owed {
            reply.say(text);
        }
        let key = key.clone();
        self.floor
            .blocking(move |store| store.clear_notices(&key))
            .await
    }

    /// A conversation found `Executing` in its worker was left by a process
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
            .floor
            .store
            .journal_entry(&request.run_id())?
            .is_some_and(|e| e.status != JournalStatus::Planned);
        let ctx = self.context(loaded, key, false)?;
        let transition = step(
            &loaded.project,
            conversation,
            Input::Interrupted { started },
            &ctx,
        );
        self.apply(
            loaded,
            key,
            transition,
            Vec::new(),
            super::Facts::of(&ctx),
            reply,
        )
        .await
    }
}
