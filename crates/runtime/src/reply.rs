//! Where replies go. A plain closure takes each reply as a new message; an
//! adapter that can edit its messages (Matrix) implements [`ReplySink`] so the
//! runtime can update a message it sent — a long-running action's "Restarting
//! apache on web-01 …" becomes "… (still running, 10s)" and then the result,
//! in place, instead of new messages.

/// Names a reply sent earlier through the same sink, to edit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyId(pub u64);

pub trait ReplySink: Send {
    /// Sends a reply; returns its id when this sink can edit it later.
    fn say(&mut self, text: String) -> Option<ReplyId>;

    /// Replaces the text of an earlier reply. A sink that cannot edit never
    /// hands out ids, so this is only called on sinks that can.
    fn edit(&mut self, id: ReplyId, text: String) {
        let _ = id;
        self.say(text);
    }
}

/// Any closure taking a `String` is a sink of new messages.
impl<F: FnMut(String) + Send> ReplySink for F {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        self(text);
        None
    }
}
