//! A conversation that spans process restarts, and crash recovery.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

use crate::util::{stderr, stdout, Fixture};

#[test]
fn a_dialog_continues_in_a_second_process_and_runs_once() {
    let fixture = Fixture::trained();
    let first = fixture.shell("alice", &["restart apache"]);
    assert_eq!(first, "On which host would you like to restart apache?\n");
    let second = fixture.shell("alice", &["web-01", "yes"]);
    assert_eq!(
        second,
        "I will restart apache on web-01. Shall I go ahead? (yes/no)\n\
         Restarting apache on web-01 …\n\
         The apache service has been restarted on web-01.\n"
    );
    let log = std::fs::read_to_string(fixture.state().join("restarts.tsv")).unwrap();
    assert_eq!(log.lines().count(), 1, "{log}");

    let audit = fixture.run(&["audit", "--json"], "");
    assert!(audit.status.success(), "{}", stderr(&audit));
    let records: Vec<serde_json::Value> = stdout(&audit)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let record = &records[0];
    assert_eq!(record["outcome"], "succeeded");
    assert_eq!(record["user"], "alice");
    assert_eq!(record["intent"], "restart_service");
    assert_eq!(
        record["messages"],
        serde_json::json!(["restart apache", "web-01", "yes"])
    );
    assert_eq!(record["slots"]["host"]["origin"], "asked");
    assert_eq!(record["slots"]["service"]["origin"], "extracted");
    assert_eq!(record["confirmed_by"], "alice");
    assert_eq!(
        record["command"],
        "actions/restart-service.sh apache web-01"
    );
    assert_eq!(record["exit_code"], 0);

    let listed = stdout(&fixture.run(&["audit", "--user", "alice", "--grep", "web-01"], ""));
    assert!(listed.contains("restart_service  succeeded"), "{listed}");
    assert!(
        listed.contains("said: \"restart apache\" → \"web-01\" → \"yes\""),
        "{listed}"
    );
    let filtered = stdout(&fixture.run(&["audit", "--intent", "deploy_app"], ""));
    assert_eq!(filtered.trim(), "no matching audit records");
}

#[test]
fn cancelled_and_denied_requests_are_audited() {
    let fixture = Fixture::trained();
    fixture.shell("alice", &["deploy shop 1.2.0 to staging", "no"]);
    fixture.shell("mallory", &["extend acme's trial by 30 days"]);
    let audit = stdout(&fixture.run(&["audit", "--json"], ""));
    let records: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{audit}");
    assert_eq!(records[0]["outcome"], "denied");
    assert_eq!(records[0]["user"], "mallory");
    assert_eq!(records[1]["outcome"], "cancelled");
    assert_eq!(records[1]["slots"]["version"]["value"], "1.2.0");
}

/// A store held by a bot that does not answer on its admin socket (here:
/// the socket was removed) is refused clearly, with a hint; a bot that
/// answers runs the command itself (see `admin.rs`).
#[test]
fn the_store_refuses_a_second_process_clearly() {
    let fixture = Fixture::trained();
    let mut holder = fixture
        .command(&["shell", "--user", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = holder.stdin.take().unwrap();
    writeln!(stdin, "hello").unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    std::fs::remove_file(fixture.state().join("admin.sock")).unwrap();
    let out = fixture.run(&["audit"], "");
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("in use by another opsbot process")
            && stderr(&out).contains("hint: a running `opsbot run` or `opsbot shell` answers"),
        "{}",
        stderr(&out)
    );
    drop(stdin);
    holder.wait().unwrap();
}

#[test]
fn a_crash_during_an_action_is_reported_not_rerun() {
    let fixture = Fixture::trained();
    // The action now hangs, so the process can be killed while it runs.
    fixture.write(
        "actions/restart-service.sh",
        "#!/bin/sh\necho $$ >> \"$OPSBOT_STATE_DIR/started\"\nexec sleep 60\n",
    );
    let mut child = fixture
        .command(&["shell", "--user", "alice"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "restart apache on web-01").unwrap();
    writeln!(stdin, "yes").unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("Restarting apache") {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "the shell ended early"
        );
    }
    let marker = fixture.state().join("started");
    for _ in 0..200 {
        if marker.exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(marker.exists(), "the action never started");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    child.wait().unwrap();
    drop(stdin);

    let out = fixture.shell("alice", &["hello"]);
    assert!(
        out.starts_with("I lost track of your request to restart a service on a host"),
        "{out}"
    );
    assert!(out.contains("Hello alice!"), "{out}");
    let started = std::fs::read_to_string(fixture.state().join("started")).unwrap();
    assert_eq!(started.lines().count(), 1, "never re-run automatically");
    let orphan: i32 = started.trim().parse().unwrap();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(orphan),
        nix::sys::signal::Signal::SIGKILL,
    );
    let audit = stdout(&fixture.run(&["audit", "--json"], ""));
    assert!(audit.contains("\"outcome\":\"outcome_unknown\""), "{audit}");
    let verified = fixture.run(&["audit", "verify"], "");
    assert!(
        verified.status.success(),
        "the chain still verifies: {}",
        stdout(&verified)
    );
}
