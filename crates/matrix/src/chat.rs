//! The runtime's [`Chat`] port over a Matrix client: the bot speaks first in a
//! room it is in, edits its own messages with `m.replace`, leaves a room and
//! shows it is typing.

use matrix_sdk::ruma::api::client::membership::joined_rooms;
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

    /// The room to speak first in. A new device (its SDK store lost) knows
    /// only the rooms that had news since it started, so a quiet room the
    /// bot is still in is asked of the homeserver and, when the bot is a
    /// member there, joined again (a no-op on the server) to know it.
    async fn room_to_speak_in(&self, id: &str) -> Option<Room> {
        if let Some(room) = self.room(id) {
            return Some(room);
        }
        let id = <&RoomId>::try_from(id).ok()?;
        let joined = match self.client.send(joined_rooms::v3::Request::new()).await {
            Ok(response) => response.joined_rooms,
            Err(error) => {
                tracing::warn!(room = %id, %error, "cannot send: the homeserver did not list the bot's rooms");
                return None;
            }
        };
        if !joined.iter().any(|joined| joined == id) {
            tracing::warn!(room = %id, "cannot send: the bot is not in the room");
            return None;
        }
        match self.client.join_room_by_id(id).await {
            Ok(room) => Some(room),
            Err(error) => {
                tracing::warn!(room = %id, %error, "cannot send: the room is not known to this device");
                None
            }
        }
    }
}

impl Chat for MatrixChat {
    fn send(&self, message: Outbound) -> ChatFuture<'_, Option<MessageHandle>> {
        Box::pin(async move {
            let room = self.room_to_speak_in(&message.room).await?;
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
