//! The admin socket: how the command line reaches the running bot. `opsbot
//! run` and `opsbot shell` hold the sled store (one process per store), so
//! `opsbot audit`, `alerts`, `2fa` and `schedule` ask the bot to run the same
//! code against its open store instead (`cli/operator.rs`). A Unix socket in
//! the state folder, owner-only, answering peers of the bot's own uid only;
//! no HTTP here (HTTP servers live in crates/webhook).

mod client;
mod protocol;
mod server;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use client::ask;
pub use protocol::{parse_request, Frame, ProtocolError, Request, MAX_REQUEST_BYTES};
pub use server::{bind, serve, SocketFile};

/// The socket's file in the state folder.
pub fn socket_path(state: &Path) -> PathBuf {
    state.join("admin.sock")
}

/// Starts answering on the state folder's socket for the life of `runtime`;
/// the returned guard removes the file when dropped. A socket that cannot
/// be made is logged and the bot runs without it: the command line then
/// says the store is held.
pub fn start(
    state: &Path,
    bot: &Arc<opsbot_runtime::Runtime>,
    runtime: &tokio::runtime::Runtime,
) -> Option<SocketFile> {
    match bind(&socket_path(state)) {
        Ok((listener, file)) => {
            tracing::info!(socket = %file.path().display(), "admin socket listening");
            runtime.spawn(serve(listener, bot.clone()));
            Some(file)
        }
        Err(error) => {
            tracing::warn!(%error, "no admin socket: the command line cannot reach this bot while it holds the store");
            None
        }
    }
}
