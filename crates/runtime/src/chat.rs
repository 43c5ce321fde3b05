//! The port through which the runtime speaks first: a message to a room it
//! chooses (an interrupted action reported at start; alerts; later schedules
//! and runbook progress), an edit of a message it sent, leaving a room and
//! the typing notice. Doors implement [`Chat`]; the core never sees their
//! types.

use std::future::Future;
use std::pin::Pin;

/// A message the bot sends on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outbound {
    pub room: String,
    /// Plain text; an adapter may render lists and output as it sees fit.
    pub text: String,
    /// A user to address (mentioned where the adapter can).
    pub mention: Option<String>,
}

/// Names a message the bot sent, to edit it later.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct MessageHandle {
    pub room: String,
    pub id: String,
}

pub type ChatFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Chat: Send + Sync {
    /// Sends a message; `None` when it could not (no such room, homeserver away).
    fn send(&self, message: Outbound) -> ChatFuture<'_, Option<MessageHandle>>;
    /// Replaces the text of a message sent earlier.
    fn edit<'a>(&'a self, handle: &'a MessageHandle, text: String) -> ChatFuture<'a, bool>;
    /// Leaves a room ("leave this room" from an admin); `false` when it could not.
    fn leave<'a>(&'a self, room: &'a str) -> ChatFuture<'a, bool> {
        let _ = room;
        Box::pin(async { false })
    }
    /// Shows (or stops showing) that the bot is working on a reply in `room`.
    fn typing<'a>(&'a self, room: &'a str, on: bool) -> ChatFuture<'a, ()> {
        let _ = (room, on);
        Box::pin(async {})
    }
}
