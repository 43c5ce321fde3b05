//! Reading a `values_from` lookup without trusting what it names: a file is
//! resolved (links followed) and read only when it stays inside its lookup
//! folder and outside the state folder, is a regular file (never a FIFO or a
//! device, which could block or never end) and is small; the read happens on
//! a thread of its own with a deadline, so a hung mount stalls one request,
//! not every conversation (nor the shutdown). Whatever is read — a file, or a
//! program's output — becomes values only within a count and a length.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opsbot_spec::MAX_VALUE_CHARS;
use tokio::sync::Semaphore;

/// The most bytes a lookup reads: a file's size, or a program's output (the
/// bytes of a program's output that are captured at all).
pub const MAX_LOOKUP_BYTES: usize = crate::exec::CAPTURE_LIMIT;
/// The most values one lookup may list.
pub const MAX_LOOKUP_VALUES: usize = 1000;
/// File reads in flight at once. A read stuck in the kernel (a hung network
/// mount) keeps its thread and its place until it returns, so stuck reads
/// are bounded here instead of piling up threads.
const READS_AT_ONCE: usize = 4;

/// Why a lookup gave no values. Said to the user and audited, so it names
/// the file as the author wrote it and never quotes what the file holds.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("cannot read {shown}: {source}")]
    Io {
        shown: String,
        source: std::io::Error,
    },
    #[error("{shown} leads outside its lookup folder")]
    OutsideFolder { shown: String },
    #[error("{shown} lies in the bot's state folder, which lookups never read")]
    StateFolder { shown: String },
    #[error("{shown} is not a regular file (a FIFO, device, socket or folder)")]
    NotRegular { shown: String },
    #[error("{shown} is larger than {MAX_LOOKUP_BYTES} bytes")]
    TooLarge { shown: String },
    #[error("{shown} is not UTF-8 text")]
    NotText { shown: String },
    #[error("the lookup lists more than {MAX_LOOKUP_VALUES} values")]
    TooManyValues,
    #[error("line {line} of the lookup is longer than {MAX_VALUE_CHARS} characters, longer than any value")]
    ValueTooLong { line: usize },
    #[error("{what} took longer than {} and was abandoned", humantime::format_duration(*after))]
    TimedOut { what: String, after: Duration },
    /// Refused before anything was read (the filled path).
    #[error("{0}")]
    Refused(String),
    /// The lookup program failed, or what it printed is no list.
    #[error("{0}")]
    Program(String),
}

/// A file lookup: the filled path and where it may lead.
#[derive(Debug, Clone)]
pub struct FileLookup {
    /// The filled path under the project root.
    pub path: PathBuf,
    /// The lookup folder, resolved when the project was loaded.
    pub folder: PathBuf,
    /// The bot's state folder (absolute).
    pub state: PathBuf,
    /// The filled path as the template wrote it, for messages.
    pub shown: String,
}

/// The values a file lists, read off the async workers within `limit`.
pub async fn file_values(lookup: FileLookup, limit: Duration) -> Result<Vec<String>, LookupError> {
    let what = format!("reading {}", lookup.shown);
    off_thread(what, limit, move || values(&read_file(&lookup)?)).await
}

/// Runs blocking `work` on a thread of its own and waits at most `limit` for
/// it. Not `spawn_blocking`: the runtime's shutdown waits for its blocking
/// tasks, so one read stuck in the kernel would make the bot ignore SIGTERM.
/// A thread left behind ends with the process.
pub async fn off_thread<T: Send + 'static>(
    what: String,
    limit: Duration,
    work: impl FnOnce() -> Result<T, LookupError> + Send + 'static,
) -> Result<T, LookupError> {
    let deadline = tokio::time::Instant::now() + limit;
    let timed_out = |what: String| LookupError::TimedOut { what, after: limit };
    let reads = READS
        .get_or_init(|| Arc::new(Semaphore::new(READS_AT_ONCE)))
        .clone();
    let Ok(Ok(place)) = tokio::time::timeout_at(deadline, reads.acquire_owned()).await else {
        return Err(timed_out(format!("{what} (waiting behind stuck lookups)")));
    };
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("opsbot-lookup".into())
        .spawn(move || {
            let _place = place;
            let _ = sender.send(work());
        });
    if let Err(e) = spawned {
        return Err(LookupError::Program(format!("{what} could not start: {e}")));
    }
    match tokio::time::timeout_at(deadline, receiver).await {
        Ok(Ok(result)) => result,
        // The thread panicked: its sender is gone.
        Ok(Err(_)) => Err(LookupError::Program(format!("{what} failed"))),
        Err(_) => {
            tracing::warn!(what = %what, "a lookup timed out; its thread is left to finish");
            Err(timed_out(what))
        }
    }
}

static READS: OnceLock<Arc<Semaphore>> = OnceLock::new();

/// Reads a lookup file: resolved under its folder and outside the state
/// folder, opened without blocking (a FIFO would block in `open`) and
/// without following a last link, then checked on the open file itself (no
/// race between the check and the read) to be regular and small.
fn read_file(lookup: &FileLookup) -> Result<String, LookupError> {
    let shown = || lookup.shown.clone();
    let io = |source| LookupError::Io {
        shown: shown(),
        source,
    };
    let resolved = std::fs::canonicalize(&lookup.path).map_err(io)?;
    if !resolved.starts_with(&lookup.folder) {
        return Err(LookupError::OutsideFolder { shown: shown() });
    }
    let state = std::fs::canonicalize(&lookup.state).unwrap_or_else(|_| lookup.state.clone());
    if resolved.starts_with(&state) {
        return Err(LookupError::StateFolder { shown: shown() });
    }
    let file = open_without_blocking(&resolved).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(LookupError::NotRegular { shown: shown() });
    }
    if meta.len() > MAX_LOOKUP_BYTES as u64 {
        return Err(LookupError::TooLarge { shown: shown() });
    }
    let mut bytes = Vec::new();
    // The file may grow after the check: never read past the cap.
    file.take(MAX_LOOKUP_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_LOOKUP_BYTES {
        return Err(LookupError::TooLarge { shown: shown() });
    }
    String::from_utf8(bytes).map_err(|_| LookupError::NotText { shown: shown() })
}

fn open_without_blocking(path: &Path) -> std::io::Result<std::fs::File> {
    use nix::fcntl::OFlag;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags((OFlag::O_NONBLOCK | OFlag::O_NOFOLLOW | OFlag::O_NOCTTY).bits())
        .open(path)
}

/// The values a text lists: trimmed lines, no blanks or `#` comments; more
/// than [`MAX_LOOKUP_VALUES`], or a line longer than any slot value can be,
/// is refused rather than cut (a cut list would refuse values silently).
pub fn values(text: &str) -> Result<Vec<String>, LookupError> {
    let mut values = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.chars().count() > MAX_VALUE_CHARS {
            return Err(LookupError::ValueTooLong { line: index + 1 });
        }
        if values.len() == MAX_LOOKUP_VALUES {
            return Err(LookupError::TooManyValues);
        }
        values.push(line.to_string());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_lines_within_a_count_and_a_length() {
        assert_eq!(
            values("# builds\n  412 \n\n411\n").unwrap(),
            vec!["412".to_string(), "411".to_string()]
        );
        let many: String = (0..=MAX_LOOKUP_VALUES).map(|i| format!("{i}\n")).collect();
        assert!(matches!(values(&many), Err(LookupError::TooManyValues)));
        let long = format!("ok\n{}\n", "x".repeat(MAX_VALUE_CHARS + 1));
        assert!(matches!(
            values(&long),
            Err(LookupError::ValueTooLong { line: 2 })
        ));
    }

    #[test]
    fn a_stuck_read_ends_at_its_deadline_and_does_not_hold_up_shutdown() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let started = std::time::Instant::now();
        let result = runtime.block_on(off_thread(
            "reading stuck".into(),
            Duration::from_millis(200),
            || {
                std::thread::sleep(Duration::from_secs(20));
                Ok(())
            },
        ));
        assert!(
            matches!(result, Err(LookupError::TimedOut { .. })),
            "{result:?}"
        );
        // A `spawn_blocking` task would keep the runtime's drop waiting 20 s.
        drop(runtime);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "took {:?}",
            started.elapsed()
        );
    }
}
