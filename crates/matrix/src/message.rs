//! One room message, from the Matrix event to the runtime and back: is it for
//! the bot (a mention anywhere, the name or prefix in front, a DM, or the
//! answer the bot waits for), which thread and message it answers, and the
//! replies — the first and the request's outcome mention the requester in a
//! group room, a long action's line is edited in place.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, ReplacementMetadata,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId};
use matrix_sdk::{Room, RoomMemberships, RoomState};
use opsbot_runtime::{ConversationKey, Envelope, ReplyId};

use crate::{format, Shared};

/// A typing notice only for work that takes longer than this: quick answers
/// do not need one, and each notice is a request to the homeserver.
const TYPING_AFTER: Duration = Duration::from_millis(800);

/// What the runtime asks of a conversation's replies, in order.
enum Out {
    Say(u64, String),
    Edit(u64, String),
    /// The request's outcome, for the requester: replaces reply `id` if given.
    Conclude(Option<u64>, String, String),
}

/// The runtime's reply sink for one message: replies are numbered as they
/// are said, so a later edit can name one before it was sent.
struct Sink {
    next: u64,
    out: tokio::sync::mpsc::UnboundedSender<Out>,
}

impl opsbot_runtime::ReplySink for Sink {
    fn say(&mut self, text: String) -> Option<ReplyId> {
        self.next += 1;
        let _ = self.out.send(Out::Say(self.next, text));
        Some(ReplyId(self.next))
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

fn is_leave_request(text: &str) -> bool {
    let t = text
        .trim()
        .trim_end_matches(['.', '!'])
        .to_ascii_lowercase();
    matches!(
        t.as_str(),
        "leave this room" | "please leave this room" | "leave the room" | "please leave"
    )
}

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

pub(crate) async fn on_message(
    shared: Arc<Shared>,
    event: OriginalSyncRoomMessageEvent,
    room: Room,
) {
    if event.sender == shared.own || room.state() != RoomState::Joined {
        return;
    }
    let MessageType::Text(text) = &event.content.msgtype else {
        return;
    };
    // An edit is a new version of an old message; acting on it again would be
    // a surprise, so edits are ignored (documented).
    if matches!(event.content.relates_to, Some(Relation::Replacement(_))) {
        return;
    }
    let direct = is_direct(&room).await;
    let key = ConversationKey::new(room.room_id().as_str(), event.sender.as_str());
    // An intentional mention (an Element pill) names the bot in `m.mentions`.
    let mentioned = event
        .content
        .mentions
        .as_ref()
        .is_some_and(|m| m.user_ids.contains(&shared.own));
    // Addressed by mention or prefix, in a DM, or answering the bot's question.
    let body = match shared.addressing.strip(&text.body, direct, mentioned) {
        Some(body) => body,
        None if shared.bot.awaits_answer(&key) => text.body.trim().to_string(),
        None => return,
    };
    let event_id: OwnedEventId = event.event_id.clone();
    tracing::debug!(room = %room.room_id(), sender = %event.sender, event = %event_id, direct, mentioned, "message for the bot");
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
    let compose = |reply: &str, addressee: Option<(&OwnedUserId, &str)>| {
        let addressee = addressee
            .filter(|_| !direct)
            .map(|(user_id, name)| format::Addressee { user_id, name });
        format::content(
            reply,
            addressee.as_ref(),
            thread.as_ref().map(|(root, id)| (root, id)),
        )
    };
    let sender = (&event.sender, name.as_str());

    let sent_at = chrono::DateTime::from_timestamp(i64::from(event.origin_server_ts.as_secs()), 0);
    let stale = sent_at.is_some_and(|sent| {
        (chrono::Utc::now() - sent).to_std().unwrap_or_default() > shared.config.max_message_age
    });
    if is_leave_request(&body) && !stale {
        if !shared.bot.first_sighting(event_id.as_str()).await {
            return;
        }
        if shared.config.is_admin(event.sender.as_str()) {
            let said = compose(
                "Leaving this room. Invite me again if you need me.",
                Some(sender),
            );
            shared.outbox.send(&room, said).await;
            if let Err(e) = room.leave().await {
                tracing::warn!(error = %e, "could not leave the room");
            }
        } else {
            let said = compose("Only an admin may ask me to leave this room.", Some(sender));
            shared.outbox.send(&room, said).await;
        }
        return;
    }

    let (out, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Out>();
    let deliver = async {
        let mut first = true;
        let mut sent: HashMap<u64, OwnedEventId> = HashMap::new();
        // Edits are queued without waiting for them, so a newer "still
        // running" line can replace one the rate limit holds back.
        let mut edits = Vec::new();
        while let Some(out) = receiver.recv().await {
            let (id, text, target, requester) = match out {
                Out::Say(id, text) => (Some(id), text, None, None),
                Out::Edit(target, text) => (None, text, Some(target), None),
                Out::Conclude(target, text, requester) => (None, text, target, Some(requester)),
            };
            // An edit replaces an earlier message's text (m.replace); if that
            // message never went out, the text goes out anew.
            let original = target.and_then(|t| sent.get(&t)).cloned();
            // Who it names: the requester on an outcome (kept in the edit's own
            // `m.mentions`, so they are notified), else the sender on the first
            // new message.
            let addressee = match requester.map(OwnedUserId::try_from) {
                Some(Ok(user)) if user == event.sender => Some((user, name.clone())),
                Some(Ok(user)) => {
                    let name = display_name(&room, &user).await;
                    Some((user, name))
                }
                Some(Err(_)) => None,
                None if original.is_none() && first => Some((event.sender.clone(), name.clone())),
                None => None,
            };
            let content = compose(&text, addressee.as_ref().map(|(u, n)| (u, n.as_str())));
            match original {
                Some(original) => edits.push(shared.outbox.send(
                    &room,
                    content.make_replacement(ReplacementMetadata::new(original, None)),
                )),
                None => {
                    first = false;
                    let event = shared.outbox.send(&room, content).await;
                    if let (Some(event), Some(id)) = (event, id) {
                        sent.insert(id, event);
                    }
                }
            }
        }
        for edit in edits {
            edit.await;
        }
    };
    let handling = async {
        let mut sink = Sink { next: 0, out };
        // The sink (and with it the sender) is dropped when handling ends,
        // which lets the delivery loop finish.
        let envelope = Envelope {
            key,
            message_id: Some(event_id.as_str()),
            text: &body,
            sent_at,
            max_age: Some(shared.config.max_message_age),
            replying_to: replying_to.as_deref(),
        };
        shared.bot.receive(&envelope, &mut sink).await;
    };
    let work = async { tokio::join!(handling, deliver) };
    tokio::pin!(work);
    let typing = async {
        tokio::time::sleep(TYPING_AFTER).await;
        room.typing_notice(true).await.is_ok()
    };
    let typing_shown = tokio::select! {
        _ = &mut work => false,
        shown = typing => {
            work.await;
            shown
        }
    };
    if typing_shown {
        let _ = room.typing_notice(false).await;
    }
}
