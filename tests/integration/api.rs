//! The HTTP API of a real `opsbot run` with a real Synapse: a proposal is
//! posted in the person's room and runs only after their yes there; a "no"
//! is reported as cancelled; a token outside its scope gets 403 and nothing
//! is posted; a read-only question is answered in the response.

use sha2::{Digest, Sha256};

use crate::alerts::{alert_settings, wait_for, TOKEN};
use crate::homeserver::*;
use crate::person::Person;
use crate::util::{http, Fixture};

pub(crate) const CHANGES: &str = "ci-changes-token-0123456789abcdef";
pub(crate) const READS: &str = "ci-reads-token-0123456789abcdef";

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A running `opsbot run` (the dbops pack) with the API on a free port and
/// priya in a room with it; the room's id is the tokens' room.
pub(crate) struct Setup {
    pub synapse: Synapse,
    pub fixture: Fixture,
    pub port: u16,
    pub runtime: tokio::runtime::Runtime,
    pub priya: Person,
    pub room: matrix_sdk::Room,
    pub _bot: BotProcess,
}

pub(crate) fn setup(per_minute: u32) -> Setup {
    let synapse = Synapse::start();
    for name in ["opsbot", "priya"] {
        synapse.register(name);
    }
    let fixture = Fixture::trained_pack("dbops");
    let config = matrix_config(&fixture, &synapse, &["priya"], "");
    let port = free_port();
    let runtime = test_runtime();
    let priya = runtime.block_on(Person::login(&synapse.url(), "priya"));
    let room = runtime.block_on(priya.room_inviting(&["opsbot"], false));
    // The pack's alerts (their token from the environment) and priya's
    // Matrix id among her ids, so she is in the dba group here too.
    let room_id = room.room_id().to_string();
    alert_settings(&fixture, free_port(), &room_id, &room_id);
    fixture.append_settings(&format!(
        "api:\n  listen: 127.0.0.1:{port}\n  tokens:\n    - name: ci-changes\n      sha256: {}\n      person: '@priya:localhost'\n      people: ['@omar:db.example']\n      room: '{}'\n      per_minute: {per_minute}\n    - name: ci-reads\n      sha256: {}\n      person: '@priya:localhost'\n      room: '{}'\n      scopes: [reads]\n",
        hash(CHANGES),
        room.room_id(),
        hash(READS),
        room.room_id(),
    ));
    let bot = start_bot_with(&fixture, &config, &[("DBBOT_ALERT_TOKEN", TOKEN)]);
    wait_for("the API", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            && http(port, "GET", "/healthz", &[], b"").0 == 200
    });
    Setup {
        synapse,
        fixture,
        port,
        runtime,
        priya,
        room,
        _bot: bot,
    }
}

#[test]
fn proposals_wait_for_the_persons_yes_in_the_room() {
    let Setup {
        synapse,
        fixture,
        port,
        runtime,
        mut priya,
        room,
        _bot,
    } = setup(30);
    let post = |token: &str, body: &str| {
        let auth = format!("Bearer {token}");
        http(
            port,
            "POST",
            "/v1/requests",
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let get = |token: &str, path: &str| {
        let auth = format!("Bearer {token}");
        http(port, "GET", path, &[("Authorization", &auth)], b"")
    };
    let runs = || {
        std::fs::read_to_string(fixture.state().join("runs.tsv"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    // Polls the request's state until it has ended.
    let ended = |id: &str| {
        let last = std::cell::RefCell::new(serde_json::Value::Null);
        wait_for("the request to end", || {
            let (_, body) = get(CHANGES, &format!("/v1/requests/{id}"));
            *last.borrow_mut() = json(&body);
            last.borrow()["state"] == "ended"
        });
        last.into_inner()
    };
    let log = synapse.log_file();
    run_scenario(&fixture, &log, async {
        // The bot is in the room before anything is proposed.
        priya.wait_members(&room, 2).await;
        assert!(!priya.ask(&room, "hello").await.is_empty());

        let (status, body) = post(CHANGES, r#"{"text": "back up the orders database"}"#);
        assert_eq!(status, 202, "{body}");
        let proposed = json(&body);
        assert_eq!(proposed["state"], "awaiting_confirmation", "{body}");
        let id = proposed["id"].as_str().unwrap().to_string();
        let posted = priya.replies(&room, 2).await;
        assert_eq!(
            posted[0].body,
            "ci-changes proposes for @priya:localhost: “back up the orders database”"
        );
        assert!(
            posted[1].body.contains("Shall I go ahead?"),
            "{}",
            posted[1].body
        );
        assert_eq!(runs(), 0, "nothing runs on a proposal");
        let (status, body) = get(CHANGES, &format!("/v1/requests/{id}"));
        assert_eq!(
            (status, json(&body)["state"].clone()),
            (200, "awaiting_confirmation".into()),
            "{body}"
        );

        // The person's yes in the room runs it, once.
        priya.say(&room, "yes").await;
        wait_for("the backup", || runs() == 1);
        let status = ended(&id);
        assert_eq!(status["outcome"], "succeeded", "{status}");
        assert_eq!(status["confirmed_by"], "@priya:localhost", "{status}");

        // A "no" there is reported as cancelled, confirmed by nobody.
        let (status, body) = post(CHANGES, r#"{"text": "back up the orders database"}"#);
        assert_eq!(status, 202, "{body}");
        let id = json(&body)["id"].as_str().unwrap().to_string();
        while !priya.reply(&room).await.contains("Shall I go ahead?") {}
        priya.say(&room, "no").await;
        let declined = ended(&id);
        assert_eq!(declined["outcome"], "cancelled", "{declined}");
        assert!(declined.get("confirmed_by").is_none(), "{declined}");
        assert_eq!(runs(), 1);
        // `opsbot ask --wait` from a terminal: posted, waits for the yes, exits 0.
        let asking = fixture
            .command(&["ask", "back up the orders database", "--wait"])
            .env("OPSBOT_API_TOKEN", CHANGES)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        while !priya.reply(&room).await.contains("Shall I go ahead?") {}
        priya.say(&room, "yes").await;
        let asked = asking.wait_with_output().unwrap();
        let printed = String::from_utf8_lossy(&asked.stdout);
        assert!(
            asked.status.success(),
            "{printed}{}",
            String::from_utf8_lossy(&asked.stderr)
        );
        assert!(printed.contains("ended: succeeded"), "{printed}");
        assert_eq!(runs(), 2);

        // What the bot said to both is read before the room is watched.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        while !priya.no_reply_since(&room) {
            priya.reply(&room).await;
        }

        // Outside its scope: 403, and the room hears nothing.
        let (status, body) = post(READS, r#"{"text": "back up the orders database"}"#);
        assert_eq!(status, 403, "{body}");
        // A read-only question is answered in the response.
        let (status, body) = post(
            READS,
            r#"{"text": "what is the replication lag on pg-main"}"#,
        );
        assert_eq!(status, 200, "{body}");
        assert!(
            json(&body)["said"][0].as_str().unwrap().contains("pg-main"),
            "{body}"
        );
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert!(
            priya.no_reply_since(&room),
            "nothing was posted for a refusal or an answer"
        );

        // An answer is no request; a bad body, a bad token, an unknown id.
        let (status, body) = post(CHANGES, r#"{"text": "yes"}"#);
        assert_eq!(status, 422, "{body}");
        assert_eq!(post(CHANGES, "{not json").0, 400);
        // A dialog and values: each mistake is named; nothing is posted.
        for (body, named) in [
            (r#"{"intent": "no_such_intent"}"#, "no_such_intent"),
            (
                r#"{"text": "back up orders", "dialog": "backup_database"}"#,
                "not both",
            ),
            (
                r#"{"dialog": "backup_database", "slots": {"database": true}}"#,
                "database",
            ),
            (
                r#"{"dialog": "backup_database", "slots": {"database": "ordrs"}}"#,
                "ordrs",
            ),
        ] {
            let (status, answer) = post(CHANGES, body);
            assert_eq!(status, 422, "{body}: {answer}");
            assert!(answer.contains(named), "{body}: {answer}");
        }
        assert_eq!(post("wrong-token-0123456789", r#"{"text": "hi"}"#).0, 401);
        assert_eq!(get(CHANGES, "/v1/requests/0000").0, 404);
        let (status, body) = http(port, "GET", "/v1/openapi.json", &[], b"");
        assert_eq!(status, 200, "{body}");
        assert!(
            json(&body)["paths"]["/v1/requests"]["post"].is_object(),
            "{body}"
        );
        let (status, body) = get(READS, "/v1/dialogs");
        assert_eq!(status, 200, "{body}");
        let listed = json(&body);
        let names: Vec<&str> = listed["dialogs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"replication_lag") && !names.contains(&"backup_database"),
            "{names:?}"
        );

        // For another person: only one of the token's people, and the
        // request is found under the token whoever it is for.
        let (status, body) = post(
            CHANGES,
            r#"{"text": "back up the orders database", "as": "@mallory:localhost"}"#,
        );
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("people"), "{body}");
        let asked = fixture
            .command(&[
                "ask",
                "back up the orders database",
                "--as",
                "@omar:db.example",
            ])
            .env("OPSBOT_API_TOKEN", CHANGES)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&asked.stdout);
        assert!(asked.status.success(), "{printed}");
        let id = printed
            .strip_prefix("posted as ")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("{printed}"))
            .to_string();
        let posted = priya.replies(&room, 2).await;
        assert_eq!(
            posted[0].body,
            "ci-changes proposes for @omar:db.example: “back up the orders database”"
        );
        let (status, body) = get(CHANGES, &format!("/v1/requests/{id}"));
        assert_eq!(status, 200, "{body}");
        assert_eq!(json(&body)["state"], "awaiting_confirmation", "{body}");
    });
    // The person's client is let go where its store's pool can hand its
    // connections back: inside the runtime it was made in.
    let _inside = runtime.enter();
    drop((room, priya));
}

/// Proposals timed one at a time.
const PROPOSALS: usize = 40;

#[test]
#[ignore = "a benchmark; run by `make bench`"]
fn api_benchmark() {
    let Setup {
        synapse,
        fixture,
        port,
        runtime,
        mut priya,
        room,
        _bot,
    } = setup(1000);
    let log = synapse.log_file();
    let mut answered = Vec::new();
    let mut posted = Vec::new();
    run_scenario(&fixture, &log, async {
        priya.wait_members(&room, 2).await;
        priya.ask(&room, "hello").await;
        let auth = format!("Bearer {CHANGES}");
        for _ in 0..PROPOSALS {
            let started = std::time::Instant::now();
            let (status, body) = http(
                port,
                "POST",
                "/v1/requests",
                &[
                    ("Authorization", &auth),
                    ("Content-Type", "application/json"),
                ],
                br#"{"text": "back up the orders database"}"#,
            );
            answered.push(started.elapsed());
            assert_eq!(status, 202, "{body}");
            while !priya.reply(&room).await.contains("Shall I go ahead?") {}
            posted.push(started.elapsed());
            priya.ask(&room, "no").await;
        }
    });
    {
        let _inside = runtime.enter();
        drop((room, priya));
    }
    let (answer_p50, answer_p99) = crate::matrix_bench::percentiles(&answered);
    let (posted_p50, posted_p99) = crate::matrix_bench::percentiles(&posted);
    let report = format!(
        "# opsbot API benchmark\n\nProduced by `make bench` (`cargo test --release --test integration api_benchmark -- --ignored`): a real `opsbot run` (the dbops pack) and a local Synapse on loopback; {PROPOSALS} proposals of \"back up the orders database\", one at a time, each declined in the room before the next.\n\n| measure | p50 | p99 |\n|---|---|---|\n| `POST /v1/requests` answered (202) | {answer_p50:.1} ms | {answer_p99:.1} ms |\n| proposal → its confirmation received by the person's client | {posted_p50:.1} ms | {posted_p99:.1} ms |\n"
    );
    println!("{report}");
    let out = crate::util::repo().join("target").join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("api.md"), &report).unwrap();
    let json = serde_json::json!({
        "proposals": PROPOSALS,
        "answered_ms_p50": answer_p50, "answered_ms_p99": answer_p99,
        "posted_ms_p50": posted_p50, "posted_ms_p99": posted_p99,
    });
    std::fs::write(
        out.join("api.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}
