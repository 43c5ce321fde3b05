//! What a terminal shows besides a command's output: the log on stderr
//! (opsbot's own account of its work, or for `shell` and `test` only what
//! needs attention), and a quiet end when the reader of stdout went away.

use std::io::IsTerminal;

use super::{Cli, Command};

/// What an operator sees without `RUST_LOG`: opsbot's own account of what it
/// does (info), everything else only when it needs attention (warn).
/// matrix-sdk logs every refused request at ERROR — a 404 for account data
/// not set yet, a 429 the adapter waits out — so its HTTP client is silenced;
/// the adapter logs the failures that matter itself, at their level. Key
/// backup is not configured for bots; matrix-sdk would say so every sync.
pub const DEFAULT_LOG_FILTER: &str = "warn,opsbot=info,opsbot_runtime=info,opsbot_matrix=info,opsbot_webhook=info,matrix_sdk::http_client=off,matrix_sdk_crypto::backups=error";

/// What `shell` and `test` log without `-v` or RUST_LOG: only what needs
/// attention, so the terminal shows the conversation, not the log.
pub const CONVERSATION_LOG_FILTER: &str =
    "warn,matrix_sdk::http_client=off,matrix_sdk_crypto::backups=error";

/// Installs the log subscriber (RUST_LOG wins over the defaults above) and,
/// for commands that only print, the default action on a closed pipe.
pub(super) fn set_up(cli: &Cli) {
    let conversation = matches!(cli.command, Command::Shell(_) | Command::Test(_));
    let default_filter = if conversation && !cli.global.verbose {
        CONVERSATION_LOG_FILTER
    } else {
        DEFAULT_LOG_FILTER
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
    if !matches!(cli.command, Command::Run(_) | Command::Shell(_)) {
        quiet_on_closed_pipe();
    }
}

/// `opsbot audit export | head`: a command whose reader went away ends
/// quietly, as other command-line tools do, instead of panicking in
/// `println!`. Not for `run` and `shell`, which hold sockets and children
/// whose closed pipes are errors to handle, not a reason to stop.
fn quiet_on_closed_pipe() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: called at the start of main, before any other thread exists;
    // the default action needs no handler code.
    if let Err(error) = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) } {
        tracing::debug!(%error, "could not restore the default SIGPIPE action");
    }
}
