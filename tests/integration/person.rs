//! A person in the end-to-end tests: a real matrix-sdk client, logged in to
//! the test Synapse and syncing in the background, that joins when invited,
//! sends messages and reads what the bot (or whoever it listens to) says,
//! edits included.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::api::client::room::create_room::v3::{Request as CreateRoom, RoomPreset};
use matrix_sdk::ruma::events::room::member::{MembershipState, StrippedRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation, RoomMessageEventContent,
};
use matrix_sdk::ruma::{OwnedRoomId, OwnedUserId};
use matrix_sdk::{Client, Room, RoomMemberships};

use crate::homeserver::{BOT, PASSWORD, WAIT};

#[derive(Clone, Debug)]
pub(crate) struct Message {
    pub(crate) room: OwnedRoomId,
    pub(crate) body: String,
    pub(crate) html: Option<String>,
    /// The message this one edits (an `m.replace`), with `body` its new text.
    pub(crate) replaces: Option<matrix_sdk::ruma::OwnedEventId>,
    pub(crate) event: matrix_sdk::ruma::OwnedEventId,
    /// Who the event itself mentions (`m.mentions`: these are notified).
    pub(crate) mentions: Vec<OwnedUserId>,
}

/// A person with a real Matrix client, syncing in the background.
pub(crate) struct Person {
    pub(crate) client: Client,
    pub(crate) inbox: Arc<Mutex<Vec<Message>>>,
    pub(crate) read: usize,
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) sync: tokio::task::JoinHandle<()>,
}

/// A matrix-sdk client logged in as `name` (its store in the returned
/// folder), synced once.
pub(crate) async fn signed_in(url: &str, name: &str) -> (Client, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let client = Client::builder()
        .homeserver_url(url)
        .sqlite_store(dir.path(), None)
        .build()
        .await
        .unwrap();
    client
        .matrix_auth()
        .login_username(name, PASSWORD)
        .send()
        .await
        .unwrap();
    client.sync_once(SyncSettings::default()).await.unwrap();
    (client, dir)
}

impl Person {
    pub(crate) async fn login(url: &str, name: &str) -> Person {
        Person::login_hearing(url, name, &[BOT]).await
    }

    /// A person whose inbox keeps the messages of `senders` (the bot by default).
    pub(crate) async fn login_hearing(url: &str, name: &str, senders: &[&str]) -> Person {
        let senders: Vec<String> = senders.iter().map(|s| s.to_string()).collect();
        let (client, dir) = signed_in(url, name).await;
        let inbox: Arc<Mutex<Vec<Message>>> = Arc::default();
        client.add_event_handler({
            let inbox = inbox.clone();
            move |event: OriginalSyncRoomMessageEvent, room: Room| {
                let (inbox, senders) = (inbox.clone(), senders.clone());
                async move {
                    if !senders.iter().any(|s| s == event.sender.as_str()) {
                        return;
                    }
                    let mentions = event
                        .content
                        .mentions
                        .as_ref()
                        .map(|m| m.user_ids.iter().cloned().collect())
                        .unwrap_or_default();
                    let (msgtype, replaces) = match event.content.relates_to {
                        Some(Relation::Replacement(r)) => (r.new_content.msgtype, Some(r.event_id)),
                        _ => (event.content.msgtype, None),
                    };
                    if let MessageType::Text(text) = msgtype {
                        inbox.lock().unwrap().push(Message {
                            room: room.room_id().to_owned(),
                            body: text.body,
                            html: text.formatted.map(|f| f.body),
                            replaces,
                            event: event.event_id.clone(),
                            mentions,
                        });
                    }
                }
            }
        });
        client.add_event_handler(
            |event: StrippedRoomMemberEvent, room: Room, client: Client| async move {
                if Some(event.state_key.as_ref()) == client.user_id()
                    && event.content.membership == MembershipState::Invite
                {
                    for _ in 0..10 {
                        if room.join().await.is_ok() {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            },
        );
        let sync = tokio::spawn({
            let client = client.clone();
            async move {
                loop {
                    if client
                        .sync_once(SyncSettings::default().timeout(Duration::from_secs(2)))
                        .await
                        .is_err()
                    {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                    }
                }
            }
        });
        Person {
            client,
            inbox,
            read: 0,
            _dir: dir,
            sync,
        }
    }

    pub(crate) fn user_id(name: &str) -> OwnedUserId {
        format!("@{name}:localhost").try_into().unwrap()
    }

    /// A private room with the bot (and others) invited; waits until all joined.
    pub(crate) async fn room_with(&self, others: &[&str], direct: bool) -> Room {
        let room = self.room_inviting(others, direct).await;
        self.wait_members(&room, others.len() + 1).await;
        room
    }

    /// A private room with the bot (and others) invited, not waiting for
    /// them (the bot may not run yet).
    pub(crate) async fn room_inviting(&self, others: &[&str], direct: bool) -> Room {
        let mut request = CreateRoom::new();
        request.invite = others.iter().map(|o| Person::user_id(o)).collect();
        request.is_direct = direct;
        request.preset = Some(RoomPreset::PrivateChat);
        self.client.create_room(request).await.unwrap()
    }

    pub(crate) async fn wait_members(&self, room: &Room, count: usize) {
        let started = Instant::now();
        loop {
            let joined = room
                .members_no_sync(RoomMemberships::JOIN)
                .await
                .map(|m| m.len())
                .unwrap_or(0);
            if joined >= count {
                return;
            }
            assert!(
                started.elapsed() < WAIT,
                "only {joined} of {count} members joined {}",
                room.room_id()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Sends a message; only the bot's messages after it count as replies.
    pub(crate) async fn say(&mut self, room: &Room, text: &str) {
        self.send(room, RoomMessageEventContent::text_plain(text))
            .await;
    }

    /// Sends any message content (a pill, a formatted body).
    pub(crate) async fn send(&mut self, room: &Room, content: RoomMessageEventContent) {
        self.read = self.inbox.lock().unwrap().len();
        // Through this person's own client: a Room handle belongs to one client.
        let started = Instant::now();
        let own = loop {
            if let Some(own) = self.client.get_room(room.room_id()) {
                break own;
            }
            assert!(started.elapsed() < WAIT, "not in {}", room.room_id());
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        own.send(content).await.unwrap();
    }

    /// Sends a message in the thread of `root`.
    pub(crate) async fn say_in_thread(
        &mut self,
        room: &Room,
        root: &matrix_sdk::ruma::OwnedEventId,
        text: &str,
    ) {
        self.read = self.inbox.lock().unwrap().len();
        let own = self.client.get_room(room.room_id()).expect("in the room");
        let mut content = RoomMessageEventContent::text_plain(text);
        content.relates_to = Some(Relation::Thread(
            matrix_sdk::ruma::events::relation::Thread::plain(root.clone(), root.clone()),
        ));
        own.send(content).await.unwrap();
    }

    /// The bot's next `count` messages in `room`.
    pub(crate) async fn replies(&mut self, room: &Room, count: usize) -> Vec<Message> {
        let started = Instant::now();
        loop {
            let found: Vec<Message> = self.inbox.lock().unwrap()[self.read..]
                .iter()
                .filter(|m| m.room == room.room_id())
                .cloned()
                .collect();
            if found.len() >= count {
                let taken: Vec<Message> = found.into_iter().take(count).collect();
                // Consume everything up to the last message taken.
                let last = taken.last().unwrap().clone();
                let inbox = self.inbox.lock().unwrap();
                let position = inbox[self.read..]
                    .iter()
                    .position(|m| m.room == last.room && m.body == last.body)
                    .unwrap();
                self.read += position + 1;
                return taken;
            }
            assert!(
                started.elapsed() < WAIT,
                "waited for {count} bot replies in {}, got {:?}",
                room.room_id(),
                found.iter().map(|m| &m.body).collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub(crate) async fn reply(&mut self, room: &Room) -> String {
        self.replies(room, 1).await.remove(0).body
    }

    /// Says something and returns the bot's next reply.
    pub(crate) async fn ask(&mut self, room: &Room, text: &str) -> String {
        self.say(room, text).await;
        self.reply(room).await
    }

    pub(crate) fn no_reply_since(&self, room: &Room) -> bool {
        !self.inbox.lock().unwrap()[self.read..]
            .iter()
            .any(|m| m.room == room.room_id())
    }
}

impl Drop for Person {
    fn drop(&mut self) {
        self.sync.abort();
    }
}
