//! The runtime's [`Chat`] port over a Matrix client: the bot speaks first in a
//! room it is in, edits its own messages with `m.replace`, leaves a room and
//! shows it is typing.

use matrix_sdk::ruma::events::room::message::ReplacementMetadata;
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId, RoomId};
use matrix_sdk::{Client, Room};
use opsbot_runtime::chat::ChatFuture;
use opsbot_runtime::{Chat, MessageHandle, Outbound};

use crate::format;
use crate::message::is_direct;
use crate::outbox::Outbox;

pub struct MatrixChat {
    pub client: Client,
    /// The adapter's outbox: the bot's own messages and replies share one pace.
    pub outbox: Outbox,
}

impl MatrixChat {
    fn room(&self, id: &str) -> Option<Room> {
        let id = <&RoomId>::try_from(id).ok()?;
        self.client.get_room(id)
    }
}

impl Chat for MatrixChat {
    fn send(&self, message: Outbound) -> ChatFuture<'_, Option<MessageHandle>> {
        Box::pin(async move {
            let room = self.room(&message.room)?;
            let user: Option<OwnedUserId> = message
                .mention
                .as_deref()
                .and_then(|u| OwnedUserId::try_from(u).ok());
            let mention = match &user {
                Some(user) if !is_direct(&room).await => Some(user),
                _ => None,
            };
            let addressee = mention.map(|user_id| format::Addressee {
                user_id,
                name: user_id.localpart(),
            });
            let content = format::content(&message.text, addressee.as_ref(), None);
            let event = self.outbox.send(&room, content).await?;
            Some(MessageHandle {
                room: message.room,
                id: event.to_string(),
            })
        })
    }

    fn edit<'a>(&'a self, handle: &'a MessageHandle, text: String) -> ChatFuture<'a, bool> {
        Box::pin(async move {
            let (Some(room), Ok(event)) = (
                self.room(&handle.room),
                OwnedEventId::try_from(handle.id.as_str()),
            ) else {
                return false;
            };
            let content = format::content(&text, None, None)
                .make_replacement(ReplacementMetadata::new(event, None));
            self.outbox.send(&room, content).await.is_some()
        })
    }

    fn leave<'a>(&'a self, room: &'a str) -> ChatFuture<'a, bool> {
        Box::pin(async move {
            let Some(room) = self.room(room) else {
                return false;
            };
            match room.leave().await {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(error = %e, "could not leave the room");
                    false
                }
            }
        })
    }

    fn typing<'a>(&'a self, room: &'a str, on: bool) -> ChatFuture<'a, ()> {
        Box::pin(async move {
            if let Some(room) = self.room(room) {
                let _ = room.typing_notice(on).await;
            }
        })
    }
}
