//! The alert listener under hostile senders, against the real `opsbot run`
//! (with a real Synapse) started with a low open-file limit: a thousand idle
//! sockets, slow headers, slow or huge bodies and unauthenticated bodies
//! neither stop the process nor lock out a real sender, and chat goes on.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::alerts::{alert_settings, wait_for, TOKEN};
use crate::homeserver::*;
use crate::util::{http, Fixture};

/// The bot's open-file limit: far below the idle sockets opened against it.
const BOT_OPEN_FILES: u64 = 256;

/// Raises this test process's own soft limit, so it can hold the sockets.
fn own_open_file_limit() -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    getrlimit(Resource::RLIMIT_NOFILE).unwrap().0
}

/// Sends `head` (and `body`) and reads the answer's status, waiting at most `wait`.
fn raw(port: u16, head: &str, body: &[u8], wait: Duration) -> (Option<u16>, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(wait)).unwrap();
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let status = String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok());
    (status, started.elapsed())
}

fn firing() -> Vec<u8> {
    serde_json::json!({
        "version": "4", "status": "firing", "receiver": "opsbot",
        "groupKey": "{}:{alertname=\"PostgresDown\"}",
        "groupLabels": {"alertname": "PostgresDown"},
        "commonLabels": {"alertname": "PostgresDown", "severity": "critical"},
        "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "PostgresDown", "instance": "pg-1:5432", "severity": "critical"},
            "annotations": {"summary": "down"},
            "startsAt": "2026-12-06T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "f1"
        }]
    })
    .to_string()
    .into_bytes()
}

#[test]
fn idle_slow_and_huge_requests_never_take_the_bot_down() {
    let synapse = Synapse::start();
    for name in ["opsbot", "priya"] {
        synapse.register(name);
    }
    let fixture = Fixture::trained_pack("dbops");
    let config = matrix_config(&fixture, &synapse, &["priya"], "");
    let port = free_port();
    alert_settings(&fixture, port, "!unknown:localhost", "!unknown:localhost");
    let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
    fixture.write(
        "opsbot.yaml",
        &settings.replace(
            "\nalerts:\n",
            "\nalerts:\n  read_timeout: 1s\n  max_connections: 32\n",
        ),
    );
    let idle_sockets = own_open_file_limit().saturating_sub(200).min(1100) as usize;
    let mut bot = start_bot_limited(
        &fixture,
        &config,
        &[("DBBOT_ALERT_TOKEN", TOKEN)],
        Some(BOT_OPEN_FILES),
    );
    wait_for("the alert listener", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/healthz", &[], b"").0 == 200
    });
    let log = synapse.log_file();
    run_scenario(&fixture, &log, async {
        let mut priya = Person::login(&synapse.url(), "priya").await;
        let room = priya.room_with(&["opsbot"], false).await;
        let before = priya.ask(&room, "hello").await;
        assert!(!before.is_empty());

        // Many more idle sockets than the bot has descriptors.
        let idle: Vec<TcpStream> = (0..idle_sockets)
            .filter_map(|_| {
                TcpStream::connect_timeout(
                    &(std::net::Ipv4Addr::LOCALHOST, port).into(),
                    Duration::from_secs(2),
                )
                .ok()
            })
            .collect();
        assert!(
            idle.len() > BOT_OPEN_FILES as usize,
            "{} sockets",
            idle.len()
        );

        // A real sender still gets in, and is stored.
        let auth = format!("Bearer {TOKEN}");
        let (status, body) = http(
            port,
            "POST",
            "/alerts/alertmanager",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            &firing(),
        );
        assert_eq!(status, 200, "{body}");
        // Chat goes on: the process is alive and answers.
        assert!(bot.child.try_wait().unwrap().is_none(), "the bot exited");
        let during = priya.ask(&room, "hello").await;
        assert!(!during.is_empty());

        // Ready, and counting what happened, in the Prometheus text format.
        let (status, ready) = http(port, "GET", "/readyz", &[], b"");
        assert_eq!((status, ready.as_str()), (200, "ready"));
        let (status, metrics) = http(port, "GET", "/metrics", &[], b"");
        assert_eq!(status, 200, "{metrics}");
        let value = |series: &str| -> f64 {
            metrics
                .lines()
                .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
        };
        assert!(value("opsbot_messages_total{door=\"matrix\",outcome=\"handled\"}") >= 2.0);
        assert_eq!(
            value("opsbot_alert_notifications_total{status=\"firing\"}"),
            1.0
        );
        assert!(value("opsbot_message_seconds_count") >= 2.0);
        assert!(!metrics.contains("priya"), "no user ids in labels");

        // Headers a line every 400 ms: cut off after the read timeout.
        let started = Instant::now();
        let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
        slow.set_read_timeout(Some(Duration::from_millis(400)))
            .unwrap();
        slow.write_all(b"POST /alerts/alertmanager HTTP/1.1\r\n")
            .unwrap();
        let mut closed = false;
        for i in 0..30 {
            if slow
                .write_all(format!("X-Slow-{i}: x\r\n").as_bytes())
                .is_err()
            {
                closed = true;
                break;
            }
            let mut buf = [0u8; 256];
            match slow.read(&mut buf) {
                Ok(_) => {
                    closed = true;
                    break;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(_) => {
                    closed = true;
                    break;
                }
            }
        }
        assert!(
            closed,
            "slow headers were still read after {:?}",
            started.elapsed()
        );

        // A huge declared body is refused before any of it is read.
        let (status, took) = raw(
            port,
            &format!("POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 10000000000\r\n\r\n"),
            b"",
            Duration::from_secs(10),
        );
        assert_eq!(status, Some(413), "after {took:?}");
        // An unauthenticated body is never waited for.
        let (status, took) = raw(
            port,
            "POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
            b"{",
            Duration::from_secs(10),
        );
        // (Waiting for the body would leave no answer within the 10 s.)
        assert_eq!(status, Some(401), "after {took:?}");
        // A body that stalls ends with 408 after the read timeout.
        let (status, took) = raw(
            port,
            &format!("POST /alerts/alertmanager HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Length: 100\r\n\r\n"),
            b"{\"version\"",
            Duration::from_secs(10),
        );
        assert_eq!(status, Some(408), "after {took:?}");

        drop(idle);
        assert!(bot.child.try_wait().unwrap().is_none(), "the bot exited");
        let after = priya.ask(&room, "hello").await;
        assert!(!after.is_empty());

        // A real Prometheus scrapes the listener and answers PromQL with
        // what the bot counted.
        let prometheus = crate::prometheus::Prometheus::start(port);
        assert_eq!(prometheus.value("up{job=\"opsbot\"}"), 1.0);
        assert!(
            prometheus.value("sum(opsbot_messages_total{door=\"matrix\",outcome=\"handled\"})")
                >= 3.0
        );
        assert_eq!(
            prometheus.value("opsbot_alert_notifications_total{status=\"firing\"}"),
            1.0
        );
    });
    drop(bot);
}
