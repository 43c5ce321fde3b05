//! A message as a door received it: whose, which (a door's id makes it
//! handled at most once), the text, whether it was addressed to the bot, and
//! when it was sent (a bot that was offline does not act on requests older
//! than the project's `max_message_age`).

use chrono::{DateTime, Utc};

use crate::key::ConversationKey;

#[derive(Debug, Clone)]
pub struct Envelope {
    pub key: ConversationKey,
    /// The door's id of the message; handled at most once (recorded durably).
    pub message_id: Option<String>,
    pub text: String,
    /// When it was sent, where the door knows: then it is not acted on when
    /// older than `max_message_age` on arrival.
    pub sent_at: Option<DateTime<Utc>>,
    /// The bot's message this one answers (a reply to it, or in its thread),
    /// as the door's message id: a request about an alert takes its values.
    pub replying_to: Option<String>,
    /// Addressed to the bot (a mention, its name, a direct chat). A message
    /// that is not is taken only as the answer the bot waits for from this
    /// person, and otherwise ignored.
    pub addressed: bool,
}

impl Envelope {
    /// An addressed message with nothing else known about it.
    pub fn new(key: ConversationKey, text: impl Into<String>) -> Envelope {
        Envelope {
            key,
            message_id: None,
            text: text.into(),
            sent_at: None,
            replying_to: None,
            addressed: true,
        }
    }
}
