//! `make bench`'s alert figures, against the real `opsbot run` and a real
//! Synapse on loopback: webhook-to-room latency (a new group's notification
//! posted to the listener until the room shows its message) and a storm of
//! 500 alert changes across 20 groups posted as fast as the listener takes
//! them — how many messages and edits the room then receives. Writes
//! `target/bench/alerts.md` and `.json`. Ignored in `make test`.

use std::time::{Duration, Instant};

use crate::alerts::{alert_settings, start, Rooms, TOKEN};
use crate::homeserver::*;
use crate::util::{http, repo, Fixture};

const LATENCY_SAMPLES: usize = 40;
const GROUPS: usize = 20;
const ALERTS_PER_GROUP: usize = 25;

/// A notification of group `group` with alerts `0..count` firing.
fn notification(group: &str, count: usize) -> Vec<u8> {
    let alerts: Vec<serde_json::Value> = (0..count)
        .map(|i| {
            serde_json::json!({
                "status": "firing",
                "labels": {"alertname": group, "instance": format!("pg-{i}:5432"), "severity": "warning"},
                "annotations": {"summary": "replication is behind"},
                "startsAt": "2026-12-01T10:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "fingerprint": format!("{group}-{i}"),
            })
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({
        "version": "4",
        "groupKey": format!("{{}}:{{alertname=\"{group}\"}}"),
        "status": "firing",
        "receiver": "opsbot",
        "groupLabels": {"alertname": group},
        "commonLabels": {"alertname": group, "severity": "warning"},
        "alerts": alerts,
    }))
    .unwrap()
}

#[test]
#[ignore = "a benchmark; run by `make bench`"]
fn alerts_benchmark() {
    let synapse = Synapse::start();
    for name in ["opsbot", "priya"] {
        synapse.register(name);
    }
    let fixture = Fixture::trained_pack("dbops");
    let config = matrix_config(&fixture, &synapse, &["priya"], "");
    let runtime = test_runtime();
    let port = free_port();
    let bearer = format!("Bearer {TOKEN}");
    let post = |body: &[u8]| {
        let (status, answer) = http(
            port,
            "POST",
            "/alerts/alertmanager",
            &[("Authorization", &bearer)],
            body,
        );
        assert_eq!(status, 200, "{answer}");
    };
    let (latencies, storm_post, storm_settle, messages, edits) = runtime.block_on(async {
        alert_settings(&fixture, port, "!unknown:localhost", "!unknown:localhost");
        let bot = start(&fixture, &config, port);
        let priya = Person::login(&synapse.url(), "priya").await;
        let dba = priya.room_with(&["opsbot"], false).await;
        let other = priya.room_with(&["opsbot"], false).await;
        drop(bot);
        alert_settings(
            &fixture,
            port,
            dba.room_id().as_str(),
            other.room_id().as_str(),
        );
        let _bot = start(&fixture, &config, port);
        let mut rooms = Rooms::default();

        // Latency: each sample a new group, so a new message.
        let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
        for i in 0..LATENCY_SAMPLES {
            let name = format!("PostgresLatency{i}");
            let started = Instant::now();
            post(&notification(&name, 1));
            let message = rooms.next(&priya, &dba).await;
            assert!(message.body.contains(&name), "{}", message.body);
            latencies.push(started.elapsed());
        }

        // The storm: every group grows one alert at a time, interleaved.
        let started = Instant::now();
        for count in 1..=ALERTS_PER_GROUP {
            for g in 0..GROUPS {
                post(&notification(&format!("PostgresStorm{g}"), count));
            }
        }
        let storm_post = started.elapsed();
        let full = format!("{ALERTS_PER_GROUP} alerts in group");
        let settled = || {
            let inbox = priya.inbox.lock().unwrap();
            (0..GROUPS).all(|g| {
                let name = format!("PostgresStorm{g} ");
                inbox
                    .iter()
                    .rev()
                    .find(|m| m.body.contains(&name))
                    .is_some_and(|m| m.body.contains(&full))
            })
        };
        while !settled() {
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "the storm never settled"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let storm_settle = started.elapsed();
        // Anything still in flight arrives within a moment.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let inbox = priya.inbox.lock().unwrap();
        let storm: Vec<_> = inbox
            .iter()
            .filter(|m| m.body.contains("PostgresStorm"))
            .collect();
        let messages = storm.iter().filter(|m| m.replaces.is_none()).count();
        let edits = storm.len() - messages;
        (latencies, storm_post, storm_settle, messages, edits)
    });
    let mut sorted = latencies.clone();
    sorted.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let p = |q: f64| ms(sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]);
    let changes = GROUPS * ALERTS_PER_GROUP;
    let report = format!(
        "# opsbot alert benchmark\n\nProduced by `make bench` (`cargo test --release --test integration alerts_benchmark -- --ignored`): the real `opsbot run` with a Synapse on loopback (the test homeserver's message rate limits raised), notifications posted straight to the listener.\n\n| measure | value |\n|---|---|\n| webhook to room, new group ({LATENCY_SAMPLES} samples, one at a time) p50 / p99 | {:.1} / {:.1} ms |\n| storm: notifications posted ({GROUPS} groups growing to {ALERTS_PER_GROUP} alerts each) | {changes} in {:.1} s |\n| storm: time until every group's message shows all its alerts | {:.1} s |\n| storm: messages the room received | {messages} (one per group) |\n| storm: edits the room received | {edits} (the worker sends each group's latest state, so changes that arrive while it is busy collapse into one edit) |\n",
        p(0.5),
        p(0.99),
        storm_post.as_secs_f64(),
        storm_settle.as_secs_f64(),
    );
    println!("{report}");
    let out = repo().join("target").join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("alerts.md"), &report).unwrap();
    let json = serde_json::json!({
        "latency_ms_p50": p(0.5), "latency_ms_p99": p(0.99),
        "storm_notifications": changes, "storm_groups": GROUPS,
        "storm_post_s": storm_post.as_secs_f64(), "storm_settle_s": storm_settle.as_secs_f64(),
        "storm_messages": messages, "storm_edits": edits,
    });
    std::fs::write(
        out.join("alerts.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    assert_eq!(messages, GROUPS, "one message per group");
}
