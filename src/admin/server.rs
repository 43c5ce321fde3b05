//! The admin socket's server, in the running bot: one task per connection
//! from a peer of the bot's own uid, a handful at once, each bounded in time;
//! the command runs on a blocking thread against the bot's open store and its
//! output is streamed back as it is written.

use std::io::Write;
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use opsbot_runtime::store::Job;
use opsbot_runtime::{Runtime, Store};
use opsbot_spec::Project;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::UnixStream;
use tokio::sync::{mpsc, Semaphore};

use super::protocol::{parse_request, Frame, Request, MAX_REQUEST_BYTES};
use crate::cli::operator::{execute, Host};

/// Connections answered at once; more are told to try again.
pub const MAX_CONNECTIONS: usize = 4;
/// How long a peer has to send its request line.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one answer line may wait for a peer that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a connection lasts at most, whatever it does.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(600);
/// Output is sent on in pieces of about this many bytes.
const CHUNK: usize = 8 * 1024;

/// The socket's file, removed when this is dropped (the bot stopped).
pub struct SocketFile(PathBuf);

impl SocketFile {
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Makes the socket at `path`, owner-only (0600). A socket already there was
/// left by a bot that did not stop cleanly: the caller holds the store, so no
/// other bot serves this state folder, and it is replaced. Any other file
/// there is left alone and no socket is made.
pub fn bind(path: &Path) -> Result<(std::os::unix::net::UnixListener, SocketFile)> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => std::fs::remove_file(path)
            .with_context(|| format!("removing the stale socket {}", path.display()))?,
        Ok(_) => bail!("{} exists and is not a socket", path.display()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("making the socket {}", path.display()))?;
    let file = SocketFile(path.to_path_buf());
    // The state folder is owner-only (0700) already, so no one else could
    // reach the socket between bind and chmod; peers are checked by uid too.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("making {} owner-only", path.display()))?;
    listener.set_nonblocking(true)?;
    Ok((listener, file))
}

/// Answers connections on `listener` until the async runtime stops.
pub async fn serve(listener: std::os::unix::net::UnixListener, bot: Arc<Runtime>) {
    let listener = match tokio::net::UnixListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::warn!(%error, "the admin socket cannot be served");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let owner = nix::unistd::geteuid().as_raw();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(%error, "admin socket: cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(async move {
                let (_, mut write) = stream.into_split();
                let busy = Frame::refusal(format!(
                    "the bot is answering {MAX_CONNECTIONS} other commands; try again"
                ));
                let _ = send(&mut write, &busy).await;
            });
            continue;
        };
        let bot = bot.clone();
        tokio::spawn(async move {
            let _slot = slot;
            let answered = tokio::time::timeout(CONNECTION_TIMEOUT, connection(stream, bot, owner));
            if answered.await.is_err() {
                tracing::warn!("admin socket: a connection lasted too long and was closed");
            }
        });
    }
}

async fn connection(stream: UnixStream, bot: Arc<Runtime>, owner: u32) {
    match stream.peer_cred() {
        Ok(peer) if peer.uid() == owner => {}
        Ok(peer) => {
            tracing::warn!(
                uid = peer.uid(),
                "admin socket: refused a peer of another user"
            );
            return;
        }
        Err(error) => {
            tracing::warn!(%error, "admin socket: cannot tell who connected");
            return;
        }
    }
    let (read, mut write) = stream.into_split();
    let request = match read_request(read).await {
        Ok(request) => request,
        Err(why) => {
            tracing::warn!(%why, "admin socket: refused a request");
            let _ = send(&mut write, &Frame::refusal(why)).await;
            return;
        }
    };
    tracing::info!(command = request.name(), "admin socket: running a command");
    let (tx, mut rx) = mpsc::channel::<String>(16);
    let host = Running {
        bot,
        handle: tokio::runtime::Handle::current(),
    };
    let work = tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx,
            buffer: String::new(),
        };
        let result = execute(&request, &host, &mut out);
        let flushed = out.flush();
        result.and_then(|()| Ok(flushed?))
    });
    let mut reader_gone = false;
    while let Some(text) = rx.recv().await {
        if send(&mut write, &Frame::Out(text)).await.is_err() {
            reader_gone = true;
            break;
        }
    }
    // The command's next write fails, so it stops.
    drop(rx);
    let last = match work.await {
        Ok(Ok(())) => Frame::Exit {
            code: 0,
            error: None,
        },
        Ok(Err(error)) => Frame::refusal(format!("{error:#}")),
        Err(error) => Frame::refusal(format!("internal error: {error}")),
    };
    if !reader_gone {
        let _ = send(&mut write, &last).await;
    }
}

/// The request line, at most [`MAX_REQUEST_BYTES`] read, within
/// [`REQUEST_TIMEOUT`]; why not otherwise.
async fn read_request(read: OwnedReadHalf) -> Result<Request, String> {
    let mut line = Vec::new();
    let mut limited = BufReader::new(read.take(MAX_REQUEST_BYTES as u64 + 1));
    match tokio::time::timeout(REQUEST_TIMEOUT, limited.read_until(b'\n', &mut line)).await {
        Err(_) => return Err(format!("no request within {}s", REQUEST_TIMEOUT.as_secs())),
        Ok(Err(error)) => return Err(format!("cannot read the request: {error}")),
        Ok(Ok(_)) => {}
    }
    parse_request(&line).map_err(|e| e.to_string())
}

async fn send(write: &mut OwnedWriteHalf, frame: &Frame) -> std::io::Result<()> {
    tokio::time::timeout(WRITE_TIMEOUT, write.write_all(frame.line().as_bytes()))
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "the peer stopped reading")
        })?
}

/// The running bot as a command's host: its open store and project, and
/// cancels made in the requester's worker.
struct Running {
    bot: Arc<Runtime>,
    handle: tokio::runtime::Handle,
}

impl Host for Running {
    fn store(&self) -> &dyn Store {
        self.bot.store()
    }

    fn project(&self) -> Result<Project> {
        Ok(self.bot.model().snapshot().project.clone())
    }

    fn cancel(&self, id: &str, by: &str) -> Result<Option<Job>> {
        // On a blocking thread, so waiting for the worker blocks no async one.
        Ok(self.handle.block_on(self.bot.cancel_scheduled(id, by))?)
    }
}

/// A command's output, sent on to the connection in pieces. Each `write` is
/// whole text (the commands write `str`s), so a piece never splits a
/// character.
struct ChannelWriter {
    tx: mpsc::Sender<String>,
    buffer: String,
}

impl Write for ChannelWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.buffer.push_str(&String::from_utf8_lossy(bytes));
        if self.buffer.len() >= CHUNK {
            self.flush()?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        self.tx
            .blocking_send(std::mem::take(&mut self.buffer))
            .map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the command line went away")
            })
    }
}
