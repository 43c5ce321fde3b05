//! The review service: lessons from the engine become review inbox entries
//! (redacted, unless the room opted out), and old entries are pruned at
//! start. See [`crate::inbox`].

use std::sync::Arc;

use opsbot_dialog::Lesson;

use crate::floor::Floor;
use crate::inbox::{Inbox, InboxEntry};
use crate::model::Loaded;
use crate::store::ConversationKey;

pub struct Review {
    floor: Arc<Floor>,
    /// Where misread messages go for review (`None`: nowhere).
    inbox: Option<Inbox>,
}

impl Review {
    pub(crate) fn new(floor: Arc<Floor>, inbox: Option<Inbox>) -> Review {
        Review { floor, inbox }
    }

    pub fn inbox(&self) -> Option<&Inbox> {
        self.inbox.as_ref()
    }

    /// Records lessons in the review inbox, redacted, unless the room opted
    /// out. A failure is logged: the conversation goes on without it.
    pub(crate) async fn learn(&self, loaded: &Loaded, key: &ConversationKey, lessons: Vec<Lesson>) {
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
        if let Err(e) = self.floor.blocking(move |_| inbox.record(entries)).await {
            tracing::warn!(error = %e, "cannot record a message for review");
        }
    }

    /// Applies the inbox's retention limits (`review.keep`, `review.max_entries`).
    pub(crate) async fn prune(&self, loaded: &Loaded) {
        let Some(inbox) = self.inbox.clone() else {
            return;
        };
        let review = loaded.project.settings.review.clone();
        let now = self.floor.now();
        match self
            .floor
            .blocking(move |_| inbox.prune(review.keep, review.max_entries, now))
            .await
        {
            Ok(removed) => tracing::debug!(removed, "pruned the review inbox"),
            Err(e) => tracing::warn!(error = %e, "cannot prune the review inbox"),
        }
    }
}
