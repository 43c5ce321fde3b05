//! Which conversation a message belongs to: one user in one room.

/// Identifies a conversation: one user in one room.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ConversationKey {
    pub room: String,
    pub user: String,
}

impl ConversationKey {
    pub fn new(room: impl Into<String>, user: impl Into<String>) -> Self {
        ConversationKey {
            room: room.into(),
            user: user.into(),
        }
    }

    pub(crate) fn bytes(&self) -> Vec<u8> {
        // NUL cannot occur in room or user ids, so the pair splits unambiguously.
        let mut key = Vec::with_capacity(self.room.len() + self.user.len() + 1);
        key.extend_from_slice(self.room.as_bytes());
        key.push(0);
        key.extend_from_slice(self.user.as_bytes());
        key
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Option<ConversationKey> {
        let split = bytes.iter().position(|b| *b == 0)?;
        Some(ConversationKey {
            room: String::from_utf8(bytes[..split].to_vec()).ok()?,
            user: String::from_utf8(bytes[split + 1..].to_vec()).ok()?,
        })
    }
}
