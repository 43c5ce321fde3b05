//! The Matrix adapter: carries conversations between Matrix rooms and the
//! [`Bot`]. It translates at the edge — room id and sender id become a
//! `ConversationKey`, replies become messages — and the core never sees a
//! Matrix type.
//!
//! Login happens once; the session (access token, device) and matrix-sdk's state
//! and crypto stores are kept under the data folder, so restarts reuse the same
//! device and the sync token. Each event is handled at most once (keyed by event
//! id in the bot's store); messages older than `max_message_age` when they arrive
//! are not acted on, and the sender is told so.

pub mod addressing;
pub mod chat;
pub mod config;
pub mod format;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::member::{MembershipState, StrippedRoomMemberEvent};
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, Relation,
};
use matrix_sdk::ruma::{OwnedEventId, OwnedUserId};
use matrix_sdk::{Client, Room, RoomMemberships, RoomState};
use opsbot_runtime::{Bot, ConversationKey, Envelope, OrderedQueues};

pub use addressing::Addressing;
pub use config::MatrixConfig;

#[derive(Debug, thiserror::Error)]
pub enum MatrixError {
    #[error("Matrix configuration: {0}")]
    Config(String),
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    // Boxed: the SDK's errors are large and this enum travels through every call.
    #[error("Matrix client: {0}")]
    Client(Box<matrix_sdk::Error>),
    #[error("Matrix client setup: {0}")]
    Build(Box<matrix_sdk::ClientBuildError>),
    #[error(transparent)]
    Runtime(#[from] opsbot_runtime::RuntimeError),
}

impl From<matrix_sdk::Error> for MatrixError {
    fn from(e: matrix_sdk::Error) -> Self {
        MatrixError::Client(Box::new(e))
    }
}

impl From<matrix_sdk::ClientBuildError> for MatrixError {
    fn from(e: matrix_sdk::ClientBuildError) -> Self {
        MatrixError::Build(Box::new(e))
    }
}

/// The longest wait between retries when the homeserver is unreachable.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

struct Shared {
    bot: Arc<Bot>,
    /// One ordered worker per (room, sender).
    queues: OrderedQueues,
    config: MatrixConfig,
    addressing: Addressing,
    own: OwnedUserId,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> MatrixError + '_ {
    move |source| MatrixError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn save_session(path: &Path, session: &MatrixSession) -> Result<(), MatrixError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let json = serde_json::to_vec_pretty(session).expect("a session serialises");
    let tmp = path.with_extension("json.tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_error(&tmp))?;
    file.write_all(&json).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io_error(path))
}

/// Retries `attempt` with exponential backoff while the homeserver is unreachable.
async fn with_backoff<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    what: &str,
    mut attempt: impl FnMut() -> F,
) -> T {
    let mut wait = Duration::from_millis(500);
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(e) => {
                tracing::warn!(error = %e, retry_in = ?wait, "{what} failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Logs in (or restores the saved session) and returns the client.
pub async fn connect(config: &MatrixConfig) -> Result<Client, MatrixError> {
    std::fs::create_dir_all(&config.data_dir).map_err(io_error(&config.data_dir))?;
    let client = Client::builder()
        .homeserver_url(&config.homeserver)
        .sqlite_store(config.data_dir.join("sdk"), None)
        .build()
        .await?;
    let session_path = config.data_dir.join("session.json");
    if session_path.exists() {
        let text = std::fs::read(&session_path).map_err(io_error(&session_path))?;
        let session: MatrixSession = serde_json::from_slice(&text).map_err(|e| {
            MatrixError::Config(format!(
                "{} is not a saved session: {e}",
                session_path.display()
            ))
        })?;
        client.restore_session(session).await?;
        tracing::info!(user = %config.user, "restored the saved Matrix session");
        return Ok(client);
    }
    if let Some(token) = &config.access_token {
        let device_id = config
            .device_id
            .clone()
            .ok_or_else(|| MatrixError::Config("`access_token` needs `device_id`".into()))?;
        let session = MatrixSession {
            meta: matrix_sdk::SessionMeta {
                user_id: config
                    .user
                    .as_str()
                    .try_into()
                    .map_err(|e| MatrixError::Config(format!("`user` {}: {e}", config.user)))?,
                device_id: device_id.as_str().into(),
            },
            tokens: matrix_sdk::authentication::SessionTokens {
                access_token: token.clone(),
                refresh_token: None,
            },
        };
        client.restore_session(session.clone()).await?;
        save_session(&session_path, &session)?;
        return Ok(client);
    }
    let password = config
        .password
        .clone()
        .ok_or_else(|| MatrixError::Config("no password or access token".into()))?;
    let auth = client.matrix_auth();
    with_backoff("logging in", || {
        let mut login = auth
            .login_username(&config.user, &password)
            .initial_device_display_name(&config.display_name);
        if let Some(device) = &config.device_id {
            login = login.device_id(device);
        }
        login.send()
    })
    .await;
    let session = client
        .matrix_auth()
        .session()
        .ok_or_else(|| MatrixError::Config("logged in without a session".into()))?;
    save_session(&session_path, &session)?;
    if let Err(e) = client
        .account()
        .set_display_name(Some(&config.display_name))
        .await
    {
        tracing::warn!(error = %e, "could not set the display name");
    }
    tracing::info!(user = %config.user, device = %session.meta.device_id, "logged in; session saved");
    Ok(client)
}

/// Runs the adapter until `shutdown` resolves.
pub async fn run(
    config: MatrixConfig,
    bot: Arc<Bot>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), MatrixError> {
    let client = connect(&config).await?;
    let own = client
        .user_id()
        .ok_or_else(|| MatrixError::Config("no user id after login".into()))?
        .to_owned();
    let addressing = Addressing::new(
        own.as_str(),
        &config.display_name,
        config.command_prefix.clone(),
    );
    let shared = Arc::new(Shared {
        bot,
        queues: OrderedQueues::new(),
        config,
        addressing,
        own,
    });

    client.add_event_handler({
        let shared = shared.clone();
        move |event: StrippedRoomMemberEvent, room: Room| {
            let shared = shared.clone();
            async move { on_invite(&shared, event, room).await }
        }
    });

    // On the very first start, sync once before listening so room history is not
    // answered; later starts resume from the saved sync token and answer what
    // arrived while the bot was down.
    let first_start_marker = shared.config.data_dir.join("synced-once");
    if !first_start_marker.exists() {
        with_backoff("the first sync", || {
            client.sync_once(SyncSettings::default())
        })
        .await;
        std::fs::write(&first_start_marker, b"").map_err(io_error(&first_start_marker))?;
    }
    client.add_event_handler({
        let shared = shared.clone();
        move |event: OriginalSyncRoomMessageEvent, room: Room| {
            let shared = shared.clone();
            async move {
                // matrix-sdk calls this once per event, in timeline order, and
                // nothing here awaits before the push: the messages of one
                // person in one room are handled in the order they were sent,
                // while sync goes on and other conversations run concurrently.
                let key = ConversationKey::new(room.room_id().as_str(), event.sender.as_str());
                let queues = shared.queues.clone();
                queues.push(key, on_message(shared, event, room));
            }
        }
    });
    resume_interrupted(&client, &shared).await;

    tokio::pin!(shutdown);
    let settings = SyncSettings::default()
        .timeout(Duration::from_secs(10))
        .filter(sync_filter());
    let mut wait = Duration::from_millis(500);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            result = client.sync_once(settings.clone()) => match result {
                Ok(_) => wait = Duration::from_millis(500),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in = ?wait, "sync failed; retrying");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
            },
        }
    }
    tracing::info!("Matrix adapter stopped");
    Ok(())
}

/// Events per room in one sync response. Synapse's default of 10 drops the
/// earlier messages of a burst (the timeline comes back `limited`); fetching
/// such gaps is still to do, so ask for far more than a burst holds.
const SYNC_TIMELINE_LIMIT: u32 = 200;

fn sync_filter() -> matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter {
    use matrix_sdk::ruma::api::client::filter::FilterDefinition;
    let mut definition = FilterDefinition::default();
    definition.room.timeline.limit = Some(SYNC_TIMELINE_LIMIT.into());
    matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter::FilterDefinition(definition)
}

/// Attaches the Matrix port to the bot and resolves actions a previous process
/// left unfinished: the runtime tells each requester in their room.
async fn resume_interrupted(client: &Client, shared: &Arc<Shared>) {
    shared.bot.attach_chat(Arc::new(chat::MatrixChat {
        client: client.clone(),
    }));
    match shared.bot.start_adapter().await {
        Ok(owed) if !owed.is_empty() => {
            tracing::warn!(conversations = owed.len(), "some interrupted actions could not be reported yet; they will be when the requester writes")
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot resolve interrupted actions"),
    }
}

async fn on_invite(shared: &Shared, event: StrippedRoomMemberEvent, room: Room) {
    if event.state_key != shared.own || event.content.membership != MembershipState::Invite {
        return;
    }
    if !shared.config.may_invite(event.sender.as_str()) {
        tracing::warn!(room = %room.room_id(), inviter = %event.sender, "rejecting an invite from someone not allowed to invite");
        if let Err(e) = room.leave().await {
            tracing::warn!(error = %e, "could not reject the invite");
        }
        return;
    }
    tracing::info!(room = %room.room_id(), inviter = %event.sender, "joining");
    // Synapse can report an invite before the room is ready to join; retry.
    let mut wait = Duration::from_millis(200);
    for _ in 0..8 {
        match room.join().await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(error = %e, "join failed; retrying");
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}

/// Sends a message, retrying while the homeserver is away (up to a few
/// minutes); returns its event id.
async fn send(
    room: &Room,
    content: matrix_sdk::ruma::events::room::message::RoomMessageEventContent,
) -> Option<OwnedEventId> {
    let mut wait = Duration::from_millis(500);
    for _ in 0..12 {
        match room.send(content.clone()).await {
            Ok(sent) => return Some(sent.response.event_id),
            Err(e) => {
                tracing::warn!(room = %room.room_id(), error = %e, retry_in = ?wait, "sending failed; retrying");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(MAX_BACKOFF);
            }
        }
    }
    tracing::error!(room = %room.room_id(), "giving up sending a reply");
    None
}

/// What the runtime asks of a conversation's replies, in order.
enum Out {
    Say(u64, String),
    Edit(u64, String),
}

/// The runtime's reply sink for one message: replies are numbered as they
/// are said, so a later edit can name one before it was sent.
struct Sink {
    next: u64,
    out: tokio::sync::mpsc::UnboundedSender<Out>,
}

impl opsbot_runtime::ReplySink for Sink {
    fn say(&mut self, text: String) -> Option<opsbot_runtime::ReplyId> {
        self.next += 1;
        let _ = self.out.send(Out::Say(self.next, text));
        Some(opsbot_runtime::ReplyId(self.next))
    }

    fn edit(&mut self, id: opsbot_runtime::ReplyId, text: String) {
        let _ = self.out.send(Out::Edit(id.0, text));
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

async fn on_message(shared: Arc<Shared>, event: OriginalSyncRoomMessageEvent, room: Room) {
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
    // The sync summary's member count is only filled in with lazy loading, so
    // count the members themselves.
    let members = room
        .members(RoomMemberships::JOIN)
        .await
        .map(|m| m.len())
        .unwrap_or(0);
    let direct = room.is_direct().await.unwrap_or(false) || (1..=2).contains(&members);
    let key = ConversationKey::new(room.room_id().as_str(), event.sender.as_str());
    // Addressed by mention or prefix, in a DM, or answering the bot's question.
    let body = match shared.addressing.strip(&text.body, direct) {
        Some(body) => body.to_string(),
        None if shared.bot.awaits_answer(&key) => text.body.trim().to_string(),
        None => return,
    };
    let event_id: OwnedEventId = event.event_id.clone();
    tracing::debug!(room = %room.room_id(), sender = %event.sender, event = %event_id, direct, "message for the bot");
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
    let name = match room.get_member_no_sync(&event.sender).await {
        Ok(Some(member)) => member.name().to_string(),
        _ => event.sender.localpart().to_string(),
    };
    let reply_to = |reply: &str, mention: bool| {
        let addressee = format::Addressee {
            user_id: &event.sender,
            name: &name,
        };
        format::content(
            reply,
            (mention && !direct).then_some(&addressee),
            thread.as_ref().map(|(root, id)| (root, id)),
        )
    };

    let sent_at = chrono::DateTime::from_timestamp(i64::from(event.origin_server_ts.as_secs()), 0);
    let stale = sent_at.is_some_and(|sent| {
        (chrono::Utc::now() - sent).to_std().unwrap_or_default() > shared.config.max_message_age
    });
    if is_leave_request(&body) && !stale {
        if !shared.bot.first_sighting(event_id.as_str()).await {
            return;
        }
        if shared.config.is_admin(event.sender.as_str()) {
            send(
                &room,
                reply_to("Leaving this room. Invite me again if you need me.", true),
            )
            .await;
            if let Err(e) = room.leave().await {
                tracing::warn!(error = %e, "could not leave the room");
            }
        } else {
            send(
                &room,
                reply_to("Only an admin may ask me to leave this room.", true),
            )
            .await;
        }
        return;
    }

    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Out>();
    let deliver = {
        let room = room.clone();
        async move {
            let mut first = true;
            let mut sent: std::collections::HashMap<u64, OwnedEventId> = Default::default();
            while let Some(out) = receiver.recv().await {
                match out {
                    Out::Say(id, reply) => {
                        if let Some(event) = send(&room, reply_to(&reply, first)).await {
                            sent.insert(id, event);
                        }
                        first = false;
                    }
                    // An edit replaces the earlier message's text (m.replace);
                    // if that message never went out, the text goes out anew.
                    Out::Edit(id, reply) => match sent.get(&id) {
                        Some(event) => {
                            let content = reply_to(&reply, false).make_replacement(
                                matrix_sdk::ruma::events::room::message::ReplacementMetadata::new(
                                    event.clone(),
                                    None,
                                ),
                            );
                            send(&room, content).await;
                        }
                        None => {
                            send(&room, reply_to(&reply, first)).await;
                        }
                    },
                }
            }
        }
    };
    let typing = room.typing_notice(true).await;
    let handling = async {
        let mut sink = Sink {
            next: 0,
            out: sender,
        };
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
        shared.bot.receive(&envelope, &mut sink).await
    };
    let (_handled, ()) = tokio::join!(handling, deliver);
    if typing.is_ok() {
        let _ = room.typing_notice(false).await;
    }
}
