//! Runbooks across crashes (issue 27): the bot is killed with SIGKILL inside
//! each program step of the example's blue/green runbook (as the step starts,
//! or after it did its work and before the bot heard back); restarted, it
//! never runs a finished step again, reports the killed one as "outcome
//! unknown" and waits for the requester, and the audit chain verifies.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::util::{stderr, stdout, Fixture};

/// Counts each step's invocations and kills the bot (its parent) once, at
/// the step and moment named in `kill-at`.
const WRAPPER: &str = r#"#!/bin/sh
state=$OPSBOT_STATE_DIR
echo "$OPSBOT_STEP" >> "$state/invocations"
at=""; when=""
if [ -f "$state/kill-at" ]; then read -r at when < "$state/kill-at"; fi
if [ "$at" = "$OPSBOT_STEP" ] && [ "$when" = start ]; then
  rm -f "$state/kill-at"; kill -9 "$PPID"; sleep 5; exit 0
fi
"$(dirname "$0")/bluegreen-real.sh" "$@"
status=$?
if [ "$at" = "$OPSBOT_STEP" ] && [ "$when" = end ]; then
  rm -f "$state/kill-at"; kill -9 "$PPID"; sleep 5
fi
exit $status
"#;

#[test]
fn a_runbook_killed_inside_any_step_never_runs_a_step_twice() {
    let points = [
        ("check", "start"),
        ("install", "end"),
        ("probe", "start"),
        ("switch", "end"),
        ("verify", "start"),
    ];
    let mut kills = 0;
    let mut double_runs = 0;
    for (step, when) in points {
        let fixture = Fixture::trained();
        let actions = fixture.path().join("actions");
        std::fs::copy(
            actions.join("bluegreen.sh"),
            actions.join("bluegreen-real.sh"),
        )
        .unwrap();
        fixture.write("actions/bluegreen.sh", WRAPPER);
        std::fs::create_dir_all(fixture.state()).unwrap();
        fixture.write(
            &format!(
                "{}/kill-at",
                fixture
                    .state()
                    .strip_prefix(fixture.path())
                    .unwrap()
                    .display()
            ),
            &format!("{step} {when}\n"),
        );
        let mut child = fixture
            .command(&["shell", "--user", "alice"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "blue-green deploy shop 1.5.0").unwrap();
        writeln!(stdin, "yes").unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "{step} {when}: the bot was never killed"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        drop(stdin);
        assert!(
            !status.success(),
            "{step} {when}: the bot finished instead of dying"
        );
        kills += 1;

        // Restarted: the run waits for the requester, who skips the step.
        let out = fixture.shell("alice", &["hello", "skip"]);
        assert!(
            out.contains(
                "I was restarted while your runbook to deploy a version of an app blue/green"
            ),
            "{step} {when}: {out}"
        );
        assert!(
            out.contains("so I do not know whether that step finished"),
            "{step} {when}: {out}"
        );

        let invocations = std::fs::read_to_string(fixture.state().join("invocations")).unwrap();
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for line in invocations.lines() {
            *counts.entry(line).or_default() += 1;
        }
        double_runs += counts.values().filter(|n| **n > 1).count();
        assert!(
            counts.values().all(|n| *n == 1),
            "{step} {when}: a step ran twice: {counts:?}"
        );
        assert_eq!(counts.get(step), Some(&1), "{step} {when}: {counts:?}");
        // Every step before the killed one ran, once.
        let order = ["check", "install", "probe", "switch", "verify"];
        let killed = order.iter().position(|s| *s == step).unwrap();
        for earlier in &order[..killed] {
            assert_eq!(counts.get(earlier), Some(&1), "{step} {when}: {counts:?}");
        }

        let audit = stdout(&fixture.run(&["audit", "--json"], ""));
        assert!(
            audit.contains("\"outcome\":\"outcome_unknown\""),
            "{step} {when}: {audit}"
        );
        // One record per step that finished, and the killed one's "outcome
        // unknown" names it.
        // (Steps are numbered as declared; the fourth is a question.)
        let number = |i: usize| if i < 3 { i + 1 } else { i + 2 };
        for (i, earlier) in order[..killed].iter().enumerate() {
            let record = format!("\"step\":\"{} {earlier}\"", number(i));
            assert!(audit.contains(&record), "{step} {when}: {record}: {audit}");
        }
        let unknown = format!("\"step\":\"{}\"", number(killed));
        assert!(
            audit.contains(&unknown),
            "{step} {when}: {unknown}: {audit}"
        );
        let verified = fixture.run(&["audit", "verify"], "");
        assert!(
            verified.status.success(),
            "{step} {when}: the chain verifies: {}{}",
            stdout(&verified),
            stderr(&verified)
        );
    }
    println!("runbook crash test: {kills} kills, {double_runs} double runs");
    assert_eq!(double_runs, 0);
}
