//! The bot's side of the review inbox: lessons from the engine are recorded
//! (redacted, unless the room opted out) and old ones pruned.

use opsbot_dialog::Lesson;

use super::*;
use crate::inbox::InboxEntry;

impl Bot {
    /// Records misread messages in `inbox` for review (see [`crate::inbox`]).
    pub fn with_inbox(mut self, inbox: Inbox) -> Bot {
        self.inbox = Some(inbox);
        self
    }

    pub fn inbox(&self) -> Option<&Inbox> {
        self.inbox.as_ref()
    }

    /// Records lessons in the review inbox, redacted, unless the room opted
    /// out. A failure is logged: the conversation goes on without it.
    pub(super) async fn learn(&self, loaded: &Loaded, key: &ConversationKey, lessons: Vec<Lesson>) {
        let settings = &loaded.project.settings;
        if lessons.is_empty() || !settings.review.records_room(&key.room) {
            return;
        }
        let Some(inbox) = self.inbox.clone() else {
            return;
        };
        let model = loaded.nlu.model().meta.trained_at.to_string();
        let entries: Vec<InboxEntry> = lessons
            .iter()
            .map(|l| InboxEntry::from_lesson(settings, &key.room, &model, l))
            .collect();
        if let Err(e) = self.blocking(move || inbox.record(entries)).await {
            tracing::warn!(error = %e, "cannot record a message for review");
        }
    }

    /// Applies the inbox's retention limits (`review.keep`, `review.max_entries`).
    pub(super) async fn prune_inbox(&self) {
        let Some(inbox) = self.inbox.clone() else {
            return;
        };
        let review = self.loaded().project.settings.review.clone();
        let now = self.now();
        match self
            .blocking(move || inbox.prune(review.keep, review.max_entries, now))
            .await
        {
            Ok(removed) => tracing::debug!(removed, "pruned the review inbox"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the review inbox"),
        }
    }
}
