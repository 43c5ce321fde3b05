//! The Matrix door: carries conversations between Matrix rooms and the
//! runtime's ingress. It translates at the edge — an event becomes an
//! `Envelope`, replies become messages, the runtime's `Chat` port becomes
//! sends, edits, leaving and typing — and the core never sees a Matrix type.
//!
//! Login happens once; the session (access token, device) and matrix-sdk's state
//! and crypto stores are kept under the data folder, so restarts reuse the same
//! device and the sync token. Each event carries its id and when it was sent
//! to the ingress, which handles it at most once and does not act on one
//! older than the project's `max_message_age` (the sender is told so). The
//! door has no policy of its own: a configuration that still sets the bot's
//! settings that moved to opsbot.yaml is read by [`deprecated`].
//!
//! Reading ([`sync`]) fills the gaps a limited sync timeline leaves; sending
//! ([`outbox`]) keeps each room in order and honours the homeserver's rate
//! limits; [`message`] is the translation of one message to the runtime.

pub mod addressing;
pub mod chat;
pub mod config;
pub mod deprecated;
pub mod format;
mod message;
pub mod outbox;
pub mod sync;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use matrix_sdk::authentication::matrix::MatrixSession;
use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::member::{MembershipState, StrippedRoomMemberEvent};
use matrix_sdk::ruma::OwnedUserId;
use matrix_sdk::{Client, Room};
use opsbot_runtime::retry::{retry, Backoff};
use opsbot_runtime::Runtime;

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
    runtime: Arc<Runtime>,
    /// Every message the bot sends, in order per room, paced for the account.
    outbox: outbox::Outbox,
    /// Sync batches still being handled (for the token the bot resumes from).
    progress: sync::Progress,
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
    attempt: impl FnMut() -> F,
) -> T {
    match retry(what, None, backoff(), attempt).await {
        Ok(value) => value,
        Err(_) => unreachable!("retried until it succeeds"),
    }
}

/// The adapter's wait between attempts: from half a second up to [`MAX_BACKOFF`].
pub(crate) fn backoff() -> Backoff {
    Backoff::new(Duration::from_millis(500), MAX_BACKOFF)
}

/// Logs in (or restores the saved session) and returns the client.
pub async fn connect(config: &MatrixConfig) -> Result<Client, MatrixError> {
    // The session (an access token) and the SDK's store live here: owner-only.
    opsbot_runtime::private::private_dir(&config.data_dir)?;
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
    runtime: Arc<Runtime>,
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
    let counted = runtime.clone();
    let shared = Arc::new(Shared {
        runtime,
        outbox: outbox::Outbox::noting(move |what| counted.metrics().door_failure("matrix", what)),
        progress: sync::Progress::default(),
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

    let filter = sync::filter(shared.config.sync_timeline_limit);
    let saved = sync::SavedToken::new(&shared.config.data_dir);
    let mut since = saved.load();
    // On the very first start, sync once before listening so room history is
    // not answered; later starts resume from the saved token and answer what
    // arrived while the bot was down, gaps filled.
    let first_start_marker = shared.config.data_dir.join("synced-once");
    if since.is_none() && !first_start_marker.exists() {
        let response = with_backoff("the first sync", || {
            client.sync_once(SyncSettings::default().filter(filter.clone()))
        })
        .await;
        saved.save(&response.next_batch)?;
        std::fs::write(&first_start_marker, b"").map_err(io_error(&first_start_marker))?;
        since = Some(response.next_batch);
    }
    resume_interrupted(&client, &shared).await;

    tokio::pin!(shutdown);
    let mut backoff = backoff();
    let mut saved_token = since.clone();
    loop {
        if let Some(token) = shared.progress.settled() {
            if saved_token.as_deref() != Some(token.as_str()) {
                // A failed write (a full disk, no descriptors left) is tried
                // again after the next sync; the runtime's record of handled
                // messages keeps any redelivery to at most once.
                match saved.save(&token) {
                    Ok(()) => saved_token = Some(token),
                    Err(error) => {
                        tracing::error!(%error, "could not save the sync token; will retry")
                    }
                }
            }
        }
        let mut settings = SyncSettings::default()
            .timeout(Duration::from_secs(10))
            .filter(filter.clone());
        if let Some(token) = &since {
            settings = settings.token(token.clone());
        }
        tokio::select! {
            _ = &mut shutdown => break,
            result = client.sync_once(settings) => match result {
                Ok(response) => {
                    backoff.reset();
                    shared.runtime.set_door_ready(Ok(()));
                    let next = response.next_batch.clone();
                    sync::dispatch(&client, &shared, response, since.as_deref()).await;
                    since = Some(next);
                }
                Err(e) => {
                    let wait = backoff.next_wait();
                    shared.runtime.metrics().door_failure("matrix", "sync");
                    shared.runtime.set_door_ready(Err(format!("the homeserver does not answer: {e}")));
                    tracing::warn!(error = %e, retry_in = ?wait, "sync failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            },
        }
    }
    let counts = shared.outbox.counts();
    tracing::info!(
        sent = counts.sent,
        rate_limited = counts.rate_limited,
        coalesced = counts.coalesced,
        given_up = counts.given_up,
        "messages sent"
    );
    tracing::info!("Matrix adapter stopped");
    Ok(())
}

/// Attaches the Matrix port to the runtime and starts its ingress, which
/// resolves actions a previous process left unfinished and tells each
/// requester in their room.
async fn resume_interrupted(client: &Client, shared: &Arc<Shared>) {
    shared.runtime.attach_chat(Arc::new(chat::MatrixChat {
        client: client.clone(),
        outbox: shared.outbox.clone(),
    }));
    match shared.runtime.ingress().start().await {
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
    let wait = Backoff::new(Duration::from_millis(200), MAX_BACKOFF);
    let _ = retry("joining a room", Some(8), wait, || room.join()).await;
}
