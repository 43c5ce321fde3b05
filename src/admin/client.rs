//! The admin socket's client, in the command line: sends one request to the
//! running bot and prints its answer as the command would have.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};

use super::protocol::{Frame, Request};
use super::server::CONNECTION_TIMEOUT;

/// Has the bot running on `state` run `request`, its output on stdout and
/// its error on stderr; its exit status. `None` when no bot answers there.
pub fn ask(state: &Path, request: &Request) -> Result<Option<ExitCode>> {
    let path = super::socket_path(state);
    let mut stream = match UnixStream::connect(&path) {
        Ok(stream) => stream,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
            ) =>
        {
            return Ok(None)
        }
        Err(e) => {
            return Err(e).with_context(|| format!("connecting to the bot at {}", path.display()))
        }
    };
    stream.set_write_timeout(Some(Duration::from_secs(30)))?;
    // The bot closes a connection after this; a little more so its word on
    // why arrives first.
    stream.set_read_timeout(Some(CONNECTION_TIMEOUT + Duration::from_secs(5)))?;
    stream
        .write_all(request.line().as_bytes())
        .context("sending the command to the running bot")?;
    let mut stdout = std::io::stdout().lock();
    for line in BufReader::new(stream).lines() {
        let line = line.context("reading the running bot's answer")?;
        match Frame::parse(&line)? {
            Frame::Out(text) => stdout.write_all(text.as_bytes())?,
            Frame::Exit { code, error } => {
                stdout.flush()?;
                if let Some(error) = error {
                    eprintln!("error: {error}");
                }
                return Ok(Some(ExitCode::from(code)));
            }
        }
    }
    bail!("the running bot closed the connection before it finished answering")
}
