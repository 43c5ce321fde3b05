//! Runs an action's program: argument vector only (no shell ever parses a slot
//! value), a minimal environment, a timeout that kills the whole process group,
//! and captured output kept to a readable excerpt.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use opsbot_dialog::ActionOutcome;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;

/// Bytes of each stream kept in memory while a program runs.
pub const CAPTURE_LIMIT: usize = 256 * 1024;
/// Characters of output shown to users and kept in the audit.
pub const EXCERPT_CHARS: usize = 3000;
/// How long to wait for output pipes after the program itself has ended (a
/// background child may hold them open).
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// A program to run.
#[derive(Debug, Clone)]
pub struct Invocation<'a> {
    pub program: &'a Path,
    pub args: &'a [String],
    pub env: &'a [(String, String)],
    pub workdir: &'a Path,
    pub timeout: Duration,
}

/// A finished program with its whole standard output as captured (within
/// [`CAPTURE_LIMIT`]): a lookup's values are its output lines, never an
/// excerpt, and never its error stream.
#[derive(Debug)]
pub struct Captured {
    pub outcome: ActionOutcome,
    pub stdout: Vec<u8>,
    /// Bytes the program wrote to standard output, kept or not.
    pub stdout_total: usize,
}

/// Runs the program and reports how it went; never panics on a bad program.
pub async fn run(invocation: &Invocation<'_>) -> ActionOutcome {
    run_captured(invocation).await.outcome
}

/// [`run`], also handing back the captured standard output.
pub async fn run_captured(invocation: &Invocation<'_>) -> Captured {
    let started = Instant::now();
    let mut command = Command::new(invocation.program);
    command
        .args(invocation.args)
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into()),
        )
        .env("LANG", "C.UTF-8")
        .envs(invocation.env.iter().map(|(k, v)| (k, v)))
        .current_dir(invocation.workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    if let Some(home) = std::env::var_os("HOME") {
        command.env("HOME", home);
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            return Captured {
                outcome: ActionOutcome::failed(
                    format!("could not start {}: {e}", invocation.program.display()),
                    started.elapsed(),
                    false,
                ),
                stdout: Vec::new(),
                stdout_total: 0,
            }
        }
    };
    let stdout = tokio::spawn(read_capped(child.stdout.take()));
    let stderr = tokio::spawn(read_capped(child.stderr.take()));
    let (status, timed_out) = match tokio::time::timeout(invocation.timeout, child.wait()).await {
        Ok(status) => (status.ok(), false),
        Err(_) => {
            if let Some(pid) = child.id() {
                // The program ran in its own process group; end all of it.
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let _ = child.kill().await;
            (child.wait().await.ok(), true)
        }
    };
    let (stdout_bytes, stdout_total) = drain(stdout).await;
    let stderr = readable(drain(stderr).await);
    let duration = started.elapsed();
    let mut output = readable((stdout_bytes.clone(), stdout_total));
    if !stderr.trim().is_empty() {
        if !output.is_empty() && !output.ends_with('\n') {
            output.push('\n');
        }
        output.push_str(&stderr);
    }
    let output = excerpt(&output, EXCERPT_CHARS);
    let exit_code = status.and_then(|s| s.code());
    let error = if timed_out {
        Some(format!(
            "timed out after {} and was stopped",
            humantime::format_duration(invocation.timeout)
        ))
    } else if exit_code.is_none() {
        Some("ended by a signal".to_string())
    } else {
        None
    };
    Captured {
        outcome: ActionOutcome {
            succeeded: !timed_out && exit_code == Some(0),
            exit_code,
            output,
            duration,
            error,
            started: true,
        },
        stdout: stdout_bytes,
        stdout_total,
    }
}

async fn read_capped<R: AsyncRead + Unpin>(stream: Option<R>) -> (Vec<u8>, usize) {
    let Some(mut stream) = stream else {
        return (Vec::new(), 0);
    };
    let mut kept = Vec::new();
    let mut total = 0;
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                total += n;
                let room = CAPTURE_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
    }
    (kept, total)
}

async fn drain(task: tokio::task::JoinHandle<(Vec<u8>, usize)>) -> (Vec<u8>, usize) {
    match tokio::time::timeout(DRAIN_GRACE, task).await {
        Ok(Ok(captured)) => captured,
        _ => (Vec::new(), 0),
    }
}

/// Captured bytes as text, noting what was not kept.
fn readable((bytes, total): (Vec<u8>, usize)) -> String {
    let mut text = String::from_utf8_lossy(&bytes).into_owned();
    if total > bytes.len() {
        text.push_str(&format!(
            "\n[… {} more bytes not captured]",
            total - bytes.len()
        ));
    }
    text
}

/// Keeps the start and the end of long output, where the useful lines usually are.
pub fn excerpt(text: &str, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        return text.to_string();
    }
    let half = limit / 2;
    let head: String = text.chars().take(half).collect();
    let tail: String = text.chars().skip(count - half).collect();
    format!(
        "{head}\n[… {} characters omitted …]\n{tail}",
        count - 2 * half
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invocation<'a>(program: &'a Path, args: &'a [String], timeout: Duration) -> Invocation<'a> {
        Invocation {
            program,
            args,
            env: &[],
            workdir: Path::new("/"),
            timeout,
        }
    }

    #[tokio::test]
    async fn arguments_reach_the_program_literally() {
        let args: Vec<String> = vec![
            "-c".into(),
            r#"printf '%s|' "$@""#.into(),
            "sh".into(),
            "a b; touch /tmp/never".into(),
            "$(id)".into(),
        ];
        let outcome = run(&invocation(
            Path::new("/bin/sh"),
            &args,
            Duration::from_secs(5),
        ))
        .await;
        assert!(outcome.succeeded, "{outcome:?}");
        assert_eq!(outcome.output, "a b; touch /tmp/never|$(id)|");
    }

    #[tokio::test]
    async fn timeout_kills_the_process_group() {
        let args: Vec<String> = vec!["-c".into(), "sleep 30 & echo $!; sleep 30".into()];
        let outcome = run(&invocation(
            Path::new("/bin/sh"),
            &args,
            Duration::from_millis(500),
        ))
        .await;
        assert!(!outcome.succeeded);
        assert!(outcome.error.as_deref().unwrap().contains("timed out"));
        let background: u32 = outcome
            .output
            .trim()
            .parse()
            .expect("the script printed its child's pid");
        // Gone, or a zombie waiting to be reaped: either way no longer running.
        // A SIGKILL is delivered asynchronously; on a loaded machine the child
        // may still show as running for a moment after the kill was sent.
        let stat_of =
            || std::fs::read_to_string(format!("/proc/{background}/stat")).unwrap_or_default();
        let mut stat = stat_of();
        for _ in 0..50 {
            if stat.is_empty() || stat.contains(") Z ") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            stat = stat_of();
        }
        assert!(
            stat.is_empty() || stat.contains(") Z "),
            "background child still running: {stat}"
        );
    }

    #[tokio::test]
    async fn failures_report_status_and_stderr() {
        let args: Vec<String> = vec!["-c".into(), "echo out; echo err >&2; exit 3".into()];
        let outcome = run(&invocation(
            Path::new("/bin/sh"),
            &args,
            Duration::from_secs(5),
        ))
        .await;
        assert_eq!(outcome.exit_code, Some(3));
        assert_eq!(outcome.output, "out\nerr\n");
        let missing = run(&invocation(
            Path::new("/nonexistent/program"),
            &[],
            Duration::from_secs(1),
        ))
        .await;
        assert!(missing.error.unwrap().contains("could not start"));
    }

    #[test]
    fn excerpt_keeps_both_ends() {
        let long = "a".repeat(50) + &"b".repeat(50);
        let cut = excerpt(&long, 20);
        assert!(cut.starts_with("aaaaaaaaaa\n[… 80 characters omitted …]\nbbbbbbbbbb"));
    }
}
