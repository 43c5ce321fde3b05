//! Alerts pushed into Matrix rooms end to end: a real Prometheus Alertmanager
//! (Debian's package) delivers webhooks to the real `opsbot run`, which posts
//! into rooms of a real Synapse, read by a real matrix-sdk client. On the
//! database test pack: routing to two rooms, one message per group edited as
//! alerts join and resolve, a restart between firing and resolving (the same
//! message is edited), refused authentication and bodies (nothing posted), and
//! the homeserver away during a delivery (delivered when it returns).

use std::path::Path;
use std::time::{Duration, Instant};

use matrix_sdk::Room;

use crate::alertmanager::Alertmanager;
use crate::homeserver::*;
use crate::util::{http, stdout, Fixture};

pub(crate) const TOKEN: &str = "alert-token-for-the-test-0123456789";

pub(crate) fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < WAIT, "waited for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pack's settings with an `alerts:` section listening on `port` and
/// routing to `dba` (every database alert, continuing) and `oncall` (critical).
pub(crate) fn alert_settings(fixture: &Fixture, port: u16, dba: &str, oncall: &str) {
    let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
    let kept = settings.split("\nalerts:").next().unwrap().replace(
        "priya: [\"@priya:db.example\"]",
        "priya: [\"@priya:db.example\", \"@priya:localhost\"]",
    );
    fixture.write(
        "opsbot.yaml",
        &format!(
            "{kept}
alerts:
  listen: 127.0.0.1:{port}
  token_env: DBBOT_ALERT_TOKEN
  mute:
    allow: [group:dba]
  hooks:
    backup:
      labels: {{ alertname: BackupFailed, datname: '{{database}}', severity: warning }}
      annotations: {{ summary: 'backup of {{database}} failed: {{error}}' }}
      group_by: [alertname, datname]
      resolved_when: {{ field: status, is: [ok] }}
  routes:
    - name: dba
      match_re: {{ alertname: 'Postgres.*|Replication.*|Backup.*' }}
      rooms: ['{dba}']
      continue: true
      slots: {{ database: '{{labels.datname}}' }}
    - name: oncall
      min_severity: critical
      rooms: ['{oncall}']
"
        ),
    );
}

pub(crate) fn start(fixture: &Fixture, config: &Path, port: u16) -> BotProcess {
    let bot = start_bot_with(fixture, config, &[("DBBOT_ALERT_TOKEN", TOKEN)]);
    wait_for("the alert listener", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/healthz", &[], b"").0 == 200
    });
    bot
}

#[test]
fn alerts_reach_their_rooms_as_one_message_per_group_edited_in_place() {
    let synapse = Synapse::start();
    for name in ["opsbot", "priya"] {
        synapse.register(name);
    }
    let fixture = Fixture::trained_pack("dbops");
    let config = matrix_config(&fixture, &synapse, &["priya"], "");
    let mut synapse = synapse;
    let log = synapse.log_file();
    run_scenario(&fixture, &log, scenario(&fixture, &config, &mut synapse));
}

/// Reads the bot's messages room by room (edits included), each once.
#[derive(Default)]
pub(crate) struct Rooms {
    read: std::collections::HashMap<String, usize>,
}

impl Rooms {
    /// The bot's next message in `room`.
    pub(crate) async fn next(&mut self, person: &Person, room: &Room) -> Message {
        let id = room.room_id().to_string();
        let started = Instant::now();
        loop {
            let seen = *self.read.get(&id).unwrap_or(&0);
            let found = person
                .inbox
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.room == room.room_id())
                .nth(seen)
                .cloned();
            if let Some(message) = found {
                self.read.insert(id, seen + 1);
                return message;
            }
            assert!(
                started.elapsed() < WAIT,
                "no further message in {id} after {seen}: {:#?}",
                person
                    .inbox
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|m| m.room == room.room_id())
                    .map(|m| (&m.body, &m.replaces))
                    .collect::<Vec<_>>()
            );
            // Short: the benchmark measures latency with this loop.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// The next message in `room` whose text says `what`.
    async fn next_saying(&mut self, person: &Person, room: &Room, what: &str) -> Message {
        loop {
            let message = self.next(person, room).await;
            if message.body.contains(what) {
                return message;
            }
        }
    }

    /// Whether nothing arrived in `room` beyond what was read.
    fn nothing_more(&self, person: &Person, room: &Room) -> bool {
        let seen = *self.read.get(room.room_id().as_str()).unwrap_or(&0);
        let count = person
            .inbox
            .lock()
            .unwrap()
            .iter()
            .filter(|m| m.room == room.room_id())
            .count();
        count == seen
    }
}

async fn scenario(fixture: &Fixture, config: &Path, synapse: &mut Synapse) {
    let port = free_port();
    // Rooms are made with the bot in them, then routed to.
    alert_settings(fixture, port, "!unknown:localhost", "!unknown:localhost");
    let bot = start(fixture, config, port);
    let mut priya = Person::login(&synapse.url(), "priya").await;
    let dba = priya.room_with(&["opsbot"], false).await;
    let oncall = priya.room_with(&["opsbot"], false).await;
    drop(bot);
    alert_settings(
        fixture,
        port,
        dba.room_id().as_str(),
        oncall.room_id().as_str(),
    );
    let bot = start(fixture, config, port);
    let alertmanager = Alertmanager::start(port);
    let mut rooms = Rooms::default();

    // A critical database alert reaches both rooms, once each.
    alertmanager.post(&[("PostgresDown", "pg-1:5432", "critical", false)]);
    let first_dba = rooms.next(&priya, &dba).await;
    let first_oncall = rooms.next(&priya, &oncall).await;
    for first in [&first_dba, &first_oncall] {
        assert!(
            first
                .body
                .starts_with("🔥 FIRING PostgresDown on pg-1 (severity: critical)"),
            "{}",
            first.body
        );
        assert!(
            first.body.contains("summary: PostgresDown on pg-1:5432"),
            "{}",
            first.body
        );
        assert_eq!(first.replaces, None, "a new message");
    }

    // A second alert of the group edits that message.
    alertmanager.post(&[
        ("PostgresDown", "pg-1:5432", "critical", false),
        ("PostgresDown", "pg-2:5432", "critical", false),
    ]);
    let grown = rooms.next(&priya, &dba).await;
    assert_eq!(
        grown.replaces.as_ref(),
        Some(&first_dba.event),
        "{}",
        grown.body
    );
    assert!(grown.body.contains("on pg-1 and pg-2"), "{}", grown.body);
    assert!(grown.body.contains("2 alerts in group"), "{}", grown.body);

    // "back up the database" in the alert's thread backs up the alert's
    // database; the alert's message then names who acted.
    priya
        .say_in_thread(&dba, &first_dba.event, "back up the database")
        .await;
    let asked = rooms.next_saying(&priya, &dba, "Shall I go ahead?").await;
    assert_eq!(
        asked.body,
        "I will back up orders (compression level 6). Shall I go ahead? (yes/no) — database from the alert PostgresDown"
    );
    priya.say_in_thread(&dba, &first_dba.event, "yes").await;
    // The result and the alert's edit arrive in either order.
    let (mut result, mut acted) = (None, None);
    while result.is_none() || acted.is_none() {
        let message = rooms.next(&priya, &dba).await;
        if message.body == "orders is backed up." {
            result = Some(message);
        } else if message.body.contains("acted:") {
            acted = Some(message);
        }
    }
    let acted = acted.unwrap();
    assert_eq!(acted.replaces.as_ref(), Some(&first_dba.event));
    assert!(
        acted.body.contains("acted: back up a database by priya"),
        "{}",
        acted.body
    );

    // A restart between firing and resolving keeps editing the same message.
    bot.kill9();
    let bot = start(fixture, config, port);
    alertmanager.post(&[
        ("PostgresDown", "pg-1:5432", "critical", true),
        ("PostgresDown", "pg-2:5432", "critical", true),
    ]);
    let resolved = rooms.next_saying(&priya, &dba, "RESOLVED").await;
    assert_eq!(resolved.replaces.as_ref(), Some(&first_dba.event));
    assert!(
        resolved.body.starts_with(
            "✅ RESOLVED PostgresDown on pg-1 and pg-2 (after 7 min; back up a database by priya)"
        ),
        "{}",
        resolved.body
    );
    let oncall_resolved = rooms.next_saying(&priya, &oncall, "RESOLVED").await;
    assert_eq!(oncall_resolved.replaces.as_ref(), Some(&first_oncall.event));

    // Wrong or missing authentication, and bodies that are no notification,
    // are refused with the reason; nothing reaches a room.
    let body = br#"{"version":"4","groupKey":"x","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"PostgresDown","severity":"critical"},"startsAt":"2026-11-25T10:00:00Z"}]}"#;
    for headers in [
        vec![("Authorization", "Bearer wrong-token-0123456789".to_string())],
        vec![],
        vec![("X-Hub-Signature-256", opsbot_webhook::sign(TOKEN, body))],
    ] {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (status, answer) = http(port, "POST", "/alerts/alertmanager", &headers, body);
        assert_eq!(status, 401, "{headers:?}: {answer}");
    }
    let bearer = format!("Bearer {TOKEN}");
    let auth = [("Authorization", bearer.as_str())];
    let (status, answer) = http(
        port,
        "POST",
        "/alerts/alertmanager",
        &auth,
        b"{\"version\":",
    );
    assert_eq!(status, 400);
    assert!(
        answer.contains("not an Alertmanager notification"),
        "{answer}"
    );
    let (status, answer) = http(
        port,
        "POST",
        "/alerts/alertmanager",
        &auth,
        &body
            .iter()
            .copied()
            .map(|b| if b == b'4' { b'3' } else { b })
            .collect::<Vec<u8>>(),
    );
    assert_eq!(status, 400);
    assert!(answer.contains("version `3`"), "{answer}");
    let big = vec![b' '; 2 * 1024 * 1024];
    assert_eq!(
        http(port, "POST", "/alerts/alertmanager", &auth, &big).0,
        413
    );

    // A generic JSON hook: the backup job's own body becomes an alert.
    let (status, answer) = http(
        port,
        "POST",
        "/hooks/backup",
        &auth,
        br#"{"database": "billing", "status": "failed", "error": "disk full"}"#,
    );
    assert_eq!(status, 200, "{answer}");
    let backup = rooms.next_saying(&priya, &dba, "BackupFailed").await;
    assert_eq!(
        backup.body,
        "🔥 FIRING BackupFailed (severity: warning)\nsummary: backup of billing failed: disk full"
    );
    let (status, answer) = http(port, "POST", "/hooks/nope", &auth, b"{}");
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = http(
        port,
        "POST",
        "/hooks/backup",
        &auth,
        br#"{"status": "failed"}"#,
    );
    assert_eq!(status, 400);
    assert!(answer.contains("no field `database`"), "{answer}");
    let (status, _) = http(port, "POST", "/hooks/backup", &[], br#"{"database": "x"}"#);
    assert_eq!(status, 401, "hooks need authentication too");

    // The homeserver away during a delivery: the alert is accepted, held, and
    // posted when it returns.
    synapse.stop();
    alertmanager.post(&[("ReplicationLag", "pg-3:5432", "warning", false)]);
    std::thread::sleep(Duration::from_secs(3));
    synapse.launch();
    let held = rooms.next_saying(&priya, &dba, "ReplicationLag").await;
    assert!(
        held.body
            .starts_with("🔥 FIRING ReplicationLag on pg-3 (severity: warning)"),
        "{}",
        held.body
    );
    assert_eq!(held.replaces, None);
    assert!(
        rooms.nothing_more(&priya, &oncall),
        "a warning does not reach on-call, and no refused request reached a room"
    );
    priya.say(&dba, "mute pg-9 for 1 hour").await;
    rooms
        .next_saying(&priya, &dba, "I will mute new alert messages matching pg-9")
        .await;
    priya.say(&dba, "yes").await;
    let muted = rooms.next_saying(&priya, &dba, "Muted").await;
    assert!(
        muted
            .body
            .starts_with("Muted new alert messages about pg-9 in this room until "),
        "{}",
        muted.body
    );
    drop(bot);

    // What the bot keeps: the open group, the resolved one with --all, the mute.
    let listed = stdout(&fixture.run(&["alerts", "--room", dba.room_id().as_str()], ""));
    assert!(listed.contains("ReplicationLag  1 of 1 firing"), "{listed}");
    assert!(listed.contains("room up to date"), "{listed}");
    assert!(!listed.contains("PostgresDown"), "{listed}");
    assert!(listed.contains(": pg-9 until "), "{listed}");
    let all = stdout(&fixture.run(&["alerts", "--all"], ""));
    assert!(all.contains("PostgresDown  resolved"), "{all}");

    // The postmortem timeline of the DBA room: alerts interleaved with the
    // request made about them, and the incident's times.
    let out = fixture.run(&["audit", "export", "--room", dba.room_id().as_str()], "");
    let timeline = stdout(&out);
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    let row = |needle: &str| timeline.lines().position(|l| l.contains(needle));
    let fired = row("| PostgresDown on pg-1 | alert fired |").expect(&timeline);
    let backup = row("about the alert PostgresDown").expect(&timeline);
    let resolved = row("| PostgresDown on pg-2 | alert resolved |").expect(&timeline);
    assert!(fired < backup && backup < resolved, "{timeline}");
    assert!(
        row("| ReplicationLag on pg-3 | alert fired |").is_some(),
        "{timeline}"
    );
    let incident = timeline
        .lines()
        .find(|l| l.starts_with("| PostgresDown on pg-1 |"))
        .expect(&timeline);
    assert!(incident.contains("by @priya:localhost ("), "{incident}");
    assert!(incident.contains("after firing) |"), "{incident}");
    assert!(!incident.contains("still open"), "{incident}");
}
