//! The command line while the bot runs (issue 28 part 4, issue 29 part 4):
//! `opsbot shell` holds the store, and `audit`, `audit verify`, `audit
//! export`, `alerts`, `2fa` and `schedule` reach it through its admin socket,
//! printing what they print with the store free.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::process::{Child, ChildStdin, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::util::{stderr, stdout, Fixture};

/// `opsbot shell` as alice, kept running: its input open, its output read
/// line by line.
struct RunningShell {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
}

impl RunningShell {
    fn start(fixture: &Fixture) -> RunningShell {
        let mut child = fixture
            .command(&["shell", "--user", "alice"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        let shell = RunningShell {
            child,
            stdin,
            lines,
        };
        // Answered once the model is loaded and the socket is up.
        shell.say("hello", "");
        shell
    }

    /// Says `text` and returns the replies up to the line containing
    /// `until` (the first line when `until` is empty).
    fn say(&self, text: &str, until: &str) -> String {
        let mut stdin = self.stdin.as_ref().unwrap();
        writeln!(stdin, "{text}").unwrap();
        stdin.flush().unwrap();
        let mut said = String::new();
        loop {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(120))
                .unwrap_or_else(|_| panic!("no reply containing {until:?} to {text:?}: {said}"));
            said.push_str(&line);
            said.push('\n');
            if line.contains(until) {
                return said;
            }
        }
    }

    /// Closes its input and waits for it to stop.
    fn stop(mut self) {
        drop(self.stdin.take());
        assert!(self.child.wait().unwrap().success());
    }
}

/// The read-only commands compared between the two ways.
const READS: &[&[&str]] = &[
    &["audit"],
    &["audit", "--json", "--limit", "3"],
    &["audit", "verify"],
    &["audit", "export"],
    &["audit", "export", "--format", "jsonl"],
    &["alerts", "--all"],
    &["schedule", "list"],
];

fn outcome(out: &Output) -> (Option<i32>, String, String) {
    (out.status.code(), stdout(out), stderr(out))
}

/// The short id `schedule list` shows first on its first line.
fn first_id(list: &str) -> String {
    list.split_whitespace().next().unwrap().to_string()
}

#[test]
fn operator_commands_work_while_the_bot_runs_and_print_the_same() {
    let fixture = Fixture::trained();
    let shell = RunningShell::start(&fixture);
    shell.say("deploy shop 1.2 to staging at 21:00", "Shall I go ahead");
    shell.say("yes", "Scheduled for");

    let socket = fixture.state().join("admin.sock");
    let meta = std::fs::metadata(&socket).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    let while_running: Vec<_> = READS
        .iter()
        .map(|args| outcome(&fixture.run(args, "")))
        .collect();
    for (args, (code, out, err)) in READS.iter().zip(&while_running) {
        assert_eq!(*code, Some(0), "{args:?}: {err}");
        assert!(!out.is_empty(), "{args:?}");
    }
    let list = &while_running[6].1;
    assert!(
        list.contains("in shell, asked by alice: the request to deploy")
            && list.contains("app=shop")
            && list.contains(" UTC ("),
        "{list}"
    );
    assert!(
        while_running[0].1.contains("deploy_app"),
        "{}",
        while_running[0].1
    );

    let enrolled = fixture.run(&["2fa", "enroll", "bob"], "");
    assert!(enrolled.status.success(), "{}", stderr(&enrolled));
    assert!(
        stdout(&enrolled).starts_with("Enrolled bob."),
        "{}",
        stdout(&enrolled)
    );
    assert!(
        stdout(&enrolled).contains("otpauth://totp/"),
        "{}",
        stdout(&enrolled)
    );
    let again = fixture.run(&["2fa", "enroll", "bob"], "");
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again),
        "error: bob is already enrolled; use --force to replace the secret\n"
    );
    let removed = fixture.run(&["2fa", "remove", "bob"], "");
    assert!(removed.status.success(), "{}", stderr(&removed));
    assert_eq!(stdout(&removed), "removed bob's two-factor secret\n");
    let unknown = fixture.run(&["schedule", "cancel", "ffffffff"], "");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown)
            .starts_with("error: no scheduled request has an id starting with ffffffff"),
        "{}",
        stderr(&unknown)
    );
    shell.stop();

    // The store is free now: the same commands, the same output.
    for (args, running) in READS.iter().zip(&while_running) {
        assert_eq!(&outcome(&fixture.run(args, "")), running, "{args:?}");
    }
    let free_again = fixture.run(&["2fa", "enroll", "bob"], "");
    assert_eq!(
        stdout(&free_again).lines().next(),
        stdout(&enrolled).lines().next()
    );
    let free_remove = fixture.run(&["2fa", "remove", "bob"], "");
    assert_eq!(outcome(&free_remove), outcome(&removed));
    let free_unknown = fixture.run(&["schedule", "cancel", "ffffffff"], "");
    assert_eq!(outcome(&free_unknown), outcome(&unknown));
    assert!(!socket.exists(), "the socket is removed when the bot stops");

    // Cancelled from the command line while the bot runs: gone from the
    // shell's own list, audited as cancelled by the operator.
    let shell = RunningShell::start(&fixture);
    let id = first_id(&while_running[6].1);
    let cancelled = fixture.run(&["schedule", "cancel", &id, "--as", "ops-lead"], "");
    assert!(cancelled.status.success(), "{}", stderr(&cancelled));
    assert!(
        stdout(&cancelled).starts_with(&format!("cancelled {id}: the request to deploy")),
        "{}",
        stdout(&cancelled)
    );
    let asked = shell.say("what is scheduled?", "");
    assert_eq!(asked, "Nothing is scheduled in this room.\n");
    shell.stop();
    let newest = fixture.run(&["audit", "--json", "--limit", "1"], "");
    let record: serde_json::Value = serde_json::from_str(stdout(&newest).trim()).unwrap();
    assert_eq!(record["outcome"], "cancelled");
    assert_eq!(record["user"], "alice");
    assert_eq!(record["reason"], "cancelled by ops-lead before its time");
    assert_eq!(
        stdout(&fixture.run(&["schedule", "list"], "")),
        "nothing is scheduled\n"
    );
}

/// Cancelling with the store free: no id or an unknown one exits 1, and
/// without `--as` the canceller is "cli:" and the user running the command.
/// (An ambiguous prefix is tested in `cli/schedule.rs`: ids are random.)
#[test]
fn schedule_cancel_with_the_store_free_names_the_operator() {
    let fixture = Fixture::trained();
    fixture.shell(
        "alice",
        &[
            "deploy shop 1.2 to staging at 21:00",
            "yes",
            "deploy shop 1.3 to staging at 22:00",
            "yes",
        ],
    );
    let list = stdout(&fixture.run(&["schedule", "list"], ""));
    assert_eq!(list.lines().count(), 2, "{list}");
    let none = fixture.run(&["schedule", "cancel", ""], "");
    assert_eq!(none.status.code(), Some(1), "{}", stderr(&none));
    let unknown = fixture.run(&["schedule", "cancel", "-"], "");
    assert_eq!(unknown.status.code(), Some(1));
    assert!(stderr(&unknown).contains("no scheduled request has an id starting with -"));
    let id = first_id(&list);
    let cancelled = fixture.run(&["schedule", "cancel", &id], "");
    assert!(cancelled.status.success(), "{}", stderr(&cancelled));
    let record: serde_json::Value =
        serde_json::from_str(stdout(&fixture.run(&["audit", "--json", "--limit", "1"], "")).trim())
            .unwrap();
    let reason = record["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("cancelled by cli:") && reason.ends_with(" before its time"),
        "{reason}"
    );
    assert_eq!(
        stdout(&fixture.run(&["schedule", "list"], ""))
            .lines()
            .count(),
        1
    );
}

/// A garbage line and one over the size limit get an error answer; the bot
/// keeps answering, both on the socket and in the conversation.
#[test]
fn the_admin_socket_refuses_garbage_and_keeps_working() {
    let fixture = Fixture::trained();
    let shell = RunningShell::start(&fixture);
    let socket = fixture.state().join("admin.sock");
    let answer = |request: &[u8]| -> String {
        let mut stream = UnixStream::connect(&socket).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        // The bot may stop reading an oversized line and answer early.
        let _ = stream.write_all(request);
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    };
    let garbage = answer(b"{\"command\":\"shell\"}\n");
    assert!(
        garbage.starts_with("{\"exit\":{\"code\":1,\"error\":\"not a request"),
        "{garbage}"
    );
    let oversized = answer(&vec![b'x'; 64 * 1024]);
    assert!(oversized.contains("longer than"), "{oversized}");
    let out = fixture.run(&["audit", "verify"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));
    let said = shell.say("what is scheduled?", "");
    assert_eq!(said, "Nothing is scheduled in this room.\n");
    shell.stop();
}
