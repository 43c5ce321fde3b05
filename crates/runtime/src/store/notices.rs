//! Replies owed to a conversation whose requester was away (an action
//! interrupted by a restart), kept durably until delivered.

use super::{json, ConversationKey, Store};
use crate::RuntimeError;

impl Store {
    /// Adds replies owed to a conversation, durably.
    pub fn add_notices(&self, key: &ConversationKey, texts: &[String]) -> Result<(), RuntimeError> {
        if texts.is_empty() {
            return Ok(());
        }
        let mut owed = self.notices_of(key)?;
        owed.extend_from_slice(texts);
        self.notices
            .insert(key.bytes(), json(&owed))
            .map_err(Self::error)?;
        self.db.flush().map_err(Self::error)?;
        Ok(())
    }

    /// Replies owed to a conversation, oldest first.
    pub fn notices_of(&self, key: &ConversationKey) -> Result<Vec<String>, RuntimeError> {
        match self.notices.get(key.bytes()).map_err(Self::error)? {
            None => Ok(Vec::new()),
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| Self::corrupt("owed notices", e))
            }
        }
    }

    /// Forgets a conversation's owed replies once they were delivered.
    pub fn clear_notices(&self, key: &ConversationKey) -> Result<(), RuntimeError> {
        if self
            .notices
            .remove(key.bytes())
            .map_err(Self::error)?
            .is_some()
        {
            self.db.flush().map_err(Self::error)?;
        }
        Ok(())
    }
}
