//! Where replies go. A plain closure takes each reply as a new message; an
//! adapter that can edit its messages (Matrix) implements [`ReplySink`] so the
//! runtime can update a message it sent — a long-running action's "Restarting
//! apache on web-01 …" becomes "… (still running, 10s)" and then the result,
//! in place, instead of new messages.
//!
//! The end of a request — its action's result or failure — goes through
//! [`ReplySink::conclude`], naming the requester, so an adapter for a busy
//! group room can get that person's attention (Matrix mentions them).

/// Where replies go: called once per reply, as soon as it is known.
pub type Reply<'r> = dyn ReplySink + 'r;

/// Names a reply sent earlier through the same sink, to edit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyId(pub u64);

pub trait ReplySink: Send {
    /// Sends a reply; returns its id when this sink can edit it later.
    fn say(&mut self, text: String) -> Option<ReplyId>;
    /// Whether an edit replaces the earlier message where people read it
    /// (a chat), rather than adding a new one (a terminal): a runbook's
    /// progress is then one message, edited.
    fn edits_in_place(&self) -> bool {
        false
    }

    /// Replaces the text of an earlier reply. A sink that cannot edit never
    /// hands out ids, so this is only called on sinks that can.
    fn edit(&mut self, id: ReplyId, text: String) {
        let _ = id;
        self.say(text);
    }

    /// The outcome of `requester`'s request: the result replaces the reply
    /// `id` when there is one (the "still running" message), or is a new
    /// reply. By default a plain edit or reply.
    fn conclude(&mut self, id: Option<ReplyId>, text: String, requester: &str) {
        let _ = requester;
        match id {
            Some(id) => self.edit(id, text),
            None => {
                self.say(text);
            }
        }
    }
}

/// Any closure taking a `String` is a sink of new messages.
impl<F: FnMut(String) + Send> ReplySink for F {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        self(text);
        None
    }
}
