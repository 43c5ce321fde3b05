//! A reply sink that can be moved into a conversation's worker: it numbers
//! replies as they are said and sends them down a channel, so a caller that
//! holds only a borrowed sink (the shell, tests, an API route collecting
//! replies) can pass them on as they come.

use tokio::sync::mpsc;

use crate::reply::{Reply, ReplyId, ReplySink};

/// What a conversation's worker asked of its replies, in order.
#[derive(Debug)]
pub(crate) enum Out {
    Say(u64, String),
    Edit(u64, String),
    Conclude(Option<u64>, String, String),
}

pub(crate) struct ChannelSink {
    next: u64,
    /// Hands out ids only when the receiving sink can edit.
    editable: bool,
    /// The receiving sink's edits replace what people read.
    in_place: bool,
    out: mpsc::UnboundedSender<Out>,
}

impl ChannelSink {
    pub fn new(editable: bool, in_place: bool) -> (ChannelSink, mpsc::UnboundedReceiver<Out>) {
        let (out, receiver) = mpsc::unbounded_channel();
        (
            ChannelSink {
                next: 0,
                editable,
                in_place: editable && in_place,
                out,
            },
            receiver,
        )
    }
}

impl ReplySink for ChannelSink {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        self.next += 1;
        let _ = self.out.send(Out::Say(self.next, text));
        self.editable.then_some(ReplyId(self.next))
    }

    fn edits_in_place(&self) -> bool {
        self.in_place
    }

    fn edit(&mut self, id: ReplyId, text: String) {
        let _ = self.out.send(Out::Edit(id.0, text));
    }

    fn conclude(&mut self, id: Option<ReplyId>, text: String, requester: &str) {
        let _ = self
            .out
            .send(Out::Conclude(id.map(|i| i.0), text, requester.to_string()));
    }
}

/// Passes everything from `receiver` on to `reply` until the worker is done
/// with the sink, mapping reply numbers to the ids `reply` hands out.
pub(crate) async fn forward(mut receiver: mpsc::UnboundedReceiver<Out>, reply: &mut Reply<'_>) {
    let mut ids = std::collections::HashMap::new();
    while let Some(out) = receiver.recv().await {
        match out {
            Out::Say(n, text) => {
                if let Some(id) = reply.say(text) {
                    ids.insert(n, id);
                }
            }
            Out::Edit(n, text) => match ids.get(&n) {
                Some(id) => reply.edit(*id, text),
                None => {
                    reply.say(text);
                }
            },
            Out::Conclude(n, text, requester) => {
                let id = n.and_then(|n| ids.get(&n).copied());
                reply.conclude(id, text, &requester)
            }
        }
    }
}
