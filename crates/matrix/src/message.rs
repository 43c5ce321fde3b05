//! One room message, from the Matrix event to the runtime's ingress and back:
//! is it addressed to the bot (a mention anywhere, the name or prefix in
//! front, a DM), which thread and message it answers, and its replies — the
//! first and the request's outcome mention the requester in a group room, a
//! long action's line is edited in place. Translation only: whether an
//! unaddressed message is an awaited answer, redeliveries, stale messages,
//! commands and the typing notice are the runtime's.

use std::collections::HashMap;
use std::sync::Arc;

use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, ReplacementMetadata,
    RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId};
use matrix_sdk::{Room, RoomMemberships, RoomState};
use opsbot_runtime::{ConversationKey, Envelope, OwnedSink, ReplyId, ReplySink};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::sync::Pending;
use crate::{format, Shared};

/// Whether a room is one person and the bot: any room of exactly two joined
/// members, marked direct or not (nobody else reads along, so nobody needs
/// addressing or a mention). A third member makes it a group room.
pub(crate) async fn is_direct(room: &Room) -> bool {
    // The sync summary's member count is only filled in with lazy loading, so
    // count the members themselves.
    let members = room
        .members(RoomMemberships::JOIN)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    members == 2
}

/// A member's display name in `room`, or the id's localpart.
pub(crate) async fn display_name(room: &Room, user: &OwnedUserId) -> String {
    match room.get_member_no_sync(user).await {
        Ok(Some(member)) => member.name().to_string(),
        _ => user.localpart().to_string(),
    }
}

/// The event as an envelope for the ingress with the sink for its replies;
/// `None` for what is not a message for anyone (the bot's own, an edit, not
/// text). Runs in the conversation's worker, so awaiting here keeps order.
pub(crate) async fn prepare(
    shared: Arc<Shared>,
    event: OriginalSyncRoomMessageEvent,
    room: Room,
    held: Pending,
) -> Option<(Envelope, OwnedSink)> {
    if event.sender == shared.own || room.state() != RoomState::Joined {
        return None;
    }
    let MessageType::Text(text) = &event.content.msgtype else {
        return None;
    };
    // An edit is a new version of an old message; acting on it again would be
    // a surprise, so edits are ignored (documented).
    if matches!(event.content.relates_to, Some(Relation::Replacement(_))) {
        return None;
    }
    let direct = is_direct(&room).await;
    // An intentional mention (an Element pill) names the bot in `m.mentions`.
    let mentioned = event
        .content
        .mentions
        .as_ref()
        .is_some_and(|m| m.user_ids.contains(&shared.own));
    let addressed = shared.addressing.strip(&text.body, direct, mentioned);
    let event_id: OwnedEventId = event.event_id.clone();
    tracing::debug!(room = %room.room_id(), sender = %event.sender, event = %event_id, direct, mentioned, addressed = addressed.is_some(), "room message");
    let thread = match &event.content.relates_to {
        Some(Relation::Thread(thread)) => Some((thread.event_id.clone(), event_id.clone())),
        _ => None,
    };
    // The bot's message this one answers: a thread's root or a reply's target.
    let replying_to = match &event.content.relates_to {
        Some(Relation::Thread(thread)) => Some(thread.event_id.to_string()),
        Some(Relation::Reply(reply)) => Some(reply.in_reply_to.event_id.to_string()),
        _ => None,
    };
    let name = display_name(&room, &event.sender).await;
    let envelope = Envelope {
        key: ConversationKey::new(room.room_id().as_str(), event.sender.as_str()),
        message_id: Some(event_id.to_string()),
        addressed: addressed.is_some(),
        text: addressed.unwrap_or_else(|| text.body.trim().to_string()),
        sent_at: chrono::DateTime::from_timestamp(i64::from(event.origin_server_ts.as_secs()), 0),
        replying_to,
    };
    let (later, queue) = mpsc::unbounded_channel();
    let reader = Reader {
        shared,
        room,
        sender: event.sender,
        name,
        direct,
        thread,
    };
    let sink = MatrixSink {
        reader: Arc::new(reader),
        next: 0,
        first: true,
        later,
    };
    tokio::spawn(edits(sink.reader.clone(), queue, held));
    Some((envelope, Box::new(sink)))
}

/// Who asked, where, and how a reply to them is composed.
struct Reader {
    shared: Arc<Shared>,
    room: Room,
    sender: OwnedUserId,
    name: String,
    direct: bool,
    /// (thread root, the message) when the message was in a thread.
    thread: Option<(OwnedEventId, OwnedEventId)>,
}

impl Reader {
    fn compose(
        &self,
        reply: &str,
        addressee: Option<(&OwnedUserId, &str)>,
    ) -> RoomMessageEventContent {
        let addressee = addressee
            .filter(|_| !self.direct)
            .map(|(user_id, name)| format::Addressee { user_id, name });
        format::content(
            reply,
            addressee.as_ref(),
            self.thread.as_ref().map(|(root, id)| (root, id)),
        )
    }
}

/// What waits for an earlier reply to be sent (its event id) or for a name.
enum Later {
    /// Reply `n` was queued; its event id comes from this task.
    Sent(u64, JoinHandle<Option<OwnedEventId>>),
    /// Replace reply `n`'s text (or say it anew if it never went out).
    Edit(u64, String),
    /// The request's outcome for `requester`, replacing reply `n` if given.
    Conclude(Option<u64>, String, String),
}

/// The ingress's sink for one message: a new reply is queued in the room's
/// outbox at once (so replies keep their order across messages); edits and
/// outcomes wait in [`edits`] for what they need.
struct MatrixSink {
    reader: Arc<Reader>,
    next: u64,
    /// The first new reply mentions the sender in a group room.
    first: bool,
    later: mpsc::UnboundedSender<Later>,
}

impl ReplySink for MatrixSink {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        self.next += 1;
        let reader = &self.reader;
        let addressee = self.first.then_some((&reader.sender, reader.name.as_str()));
        self.first = false;
        let sent = reader
            .shared
            .outbox
            .send(&reader.room, reader.compose(&text, addressee));
        let _ = self.later.send(Later::Sent(self.next, tokio::spawn(sent)));
        Some(ReplyId(self.next))
    }

    fn edits_in_place(&self) -> bool {
        true
    }

    fn edit(&mut self, id: ReplyId, text: String) {
        let _ = self.later.send(Later::Edit(id.0, text));
    }

    fn conclude(&mut self, id: Option<ReplyId>, text: String, requester: &str) {
        // The requester is the sender: said at once, in order.
        if id.is_none() && requester == self.reader.sender.as_str() {
            let reader = &self.reader;
            self.first = false;
            let content = reader.compose(&text, Some((&reader.sender, reader.name.as_str())));
            drop(reader.shared.outbox.send(&reader.room, content));
            return;
        }
        let _ = self.later.send(Later::Conclude(
            id.map(|i| i.0),
            text,
            requester.to_string(),
        ));
    }
}

/// Edits and outcomes of one message's replies, in order: each waits for the
/// event id of the reply it replaces. Holds the sync batch until done.
async fn edits(reader: Arc<Reader>, mut queue: mpsc::UnboundedReceiver<Later>, _held: Pending) {
    let mut sending: HashMap<u64, JoinHandle<Option<OwnedEventId>>> = HashMap::new();
    let mut sent: HashMap<u64, Option<OwnedEventId>> = HashMap::new();
    while let Some(later) = queue.recv().await {
        let (target, text, requester) = match later {
            Later::Sent(n, task) => {
                sending.insert(n, task);
                continue;
            }
            Later::Edit(n, text) => (Some(n), text, None),
            Later::Conclude(n, text, requester) => (n, text, Some(requester)),
        };
        let original = match target {
            Some(n) => {
                if let Some(task) = sending.remove(&n) {
                    sent.insert(n, task.await.ok().flatten());
                }
                sent.get(&n).cloned().flatten()
            }
            None => None,
        };
        // Who it names: the requester on an outcome (kept in the edit's own
        // `m.mentions`, so they are notified).
        let addressee = match requester.map(OwnedUserId::try_from) {
            Some(Ok(user)) if user == reader.sender => Some((user, reader.name.clone())),
            Some(Ok(user)) => {
                let name = display_name(&reader.room, &user).await;
                Some((user, name))
            }
            _ => None,
        };
        let content = reader.compose(&text, addressee.as_ref().map(|(u, n)| (u, n.as_str())));
        let outbox = &reader.shared.outbox;
        // An edit replaces an earlier message's text (m.replace); if that
        // message never went out, the text goes out anew. Edits are not
        // awaited: a newer one replaces one the rate limit holds back.
        drop(match original {
            Some(original) => outbox.send(
                &reader.room,
                content.make_replacement(ReplacementMetadata::new(original, None)),
            ),
            None => outbox.send(&reader.room, content),
        });
    }
}
