//! `make bench` for the Matrix adapter, against local Synapse homeservers:
//! the round trip of a message beside two floors on the same Synapse — a
//! minimal matrix-sdk echo bot (the client library opsbot uses, so the same
//! client overhead) and a minimal matrix-nio echo bot (`tools/nio_echo.py`,
//! the lowest floor: what the homeserver and a plain client cost) — and a
//! burst of 20 people at once under Synapse's stock message rate limit (time
//! to the last reply). Writes `target/bench/matrix.md` and `matrix.json`.

use std::time::{Duration, Instant};

use matrix_sdk::config::SyncSettings;
use matrix_sdk::ruma::events::room::message::{
    MessageType, OriginalSyncRoomMessageEvent, RoomMessageEventContent,
};
use matrix_sdk::{Client, Room};

use crate::homeserver::*;
use crate::util::{repo, Fixture};

const MESSAGES: usize = 200;
const BURST: usize = 20;

fn rss_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The smallest bot there is: a matrix-sdk client that joins when invited and
/// says back whatever it hears. Runs until the task is dropped.
async fn echo_bot(url: &str) -> tokio::task::JoinHandle<()> {
    let (client, dir) = crate::person::signed_in(url, "echo").await;
    client.add_event_handler(
        |event: OriginalSyncRoomMessageEvent, room: Room, client: Client| async move {
            if Some(event.sender.as_ref()) == client.user_id() {
                return;
            }
            if let MessageType::Text(text) = event.content.msgtype {
                let _ = room
                    .send(RoomMessageEventContent::text_plain(text.body))
                    .await;
            }
        },
    );
    client.add_event_handler(
        |event: matrix_sdk::ruma::events::room::member::StrippedRoomMemberEvent,
         room: Room,
         client: Client| async move {
            if Some(event.state_key.as_ref()) == client.user_id() {
                for _ in 0..10 {
                    if room.join().await.is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            }
        },
    );
    tokio::spawn(async move {
        let _dir = dir;
        loop {
            let settings = SyncSettings::default().timeout(Duration::from_secs(10));
            if client.sync_once(settings).await.is_err() {
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    })
}

/// The matrix-nio echo bot (`tools/nio_echo.py`) in the bench virtualenv;
/// killed when dropped.
struct NioEcho(std::process::Child);

impl NioEcho {
    fn start(url: &str, user: &str) -> NioEcho {
        use std::io::BufRead;
        let python = std::env::var("OPSBOT_BENCH_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|_| repo().join(".venv-bench/bin/python"));
        let mut child = std::process::Command::new(&python)
            .arg(repo().join("tools/nio_echo.py"))
            .args([url, user, PASSWORD])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "{} (run `make bench`, which installs matrix-nio): {e}",
                    python.display()
                )
            });
        let mut ready = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(ready.trim(), "ready", "the nio echo bot did not start");
        NioEcho(child)
    }
}

impl Drop for NioEcho {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (p50, p99) in milliseconds.
pub(crate) fn percentiles(times: &[Duration]) -> (f64, f64) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at =
        |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0;
    (at(0.5), at(0.99))
}

/// Round trips of `MESSAGES` messages, one at a time, in `room`.
async fn round_trips(person: &mut Person, room: &Room, texts: &[&str]) -> Vec<Duration> {
    let mut times = Vec::with_capacity(MESSAGES);
    for i in 0..MESSAGES {
        let started = Instant::now();
        person.ask(room, texts[i % texts.len()]).await;
        times.push(started.elapsed());
    }
    times
}

#[test]
#[ignore = "a benchmark; run by `make bench`"]
fn matrix_benchmark() {
    // Round trips, on a Synapse whose rate limits are out of the way.
    let synapse = Synapse::start();
    for name in ["opsbot", "echo", "nioecho", "alice"] {
        synapse.register(name);
    }
    let fixture = Fixture::trained();
    let config = matrix_config(&fixture, &synapse, &["alice"], "");
    let runtime = test_runtime();
    let (bot_times, echo_times, nio_times, pid, bot) = runtime.block_on(async {
        let bot = start_bot(&fixture, &config);
        let pid = bot.child.id();
        let _echo = echo_bot(&synapse.url()).await;
        let _nio = NioEcho::start(&synapse.url(), "nioecho");
        let mut alice = Person::login_hearing(
            &synapse.url(),
            "alice",
            &[BOT, "@echo:localhost", "@nioecho:localhost"],
        )
        .await;
        let dm = alice.room_with(&["opsbot"], true).await;
        let echo_room = alice.room_with(&["echo"], true).await;
        let nio_room = alice.room_with(&["nioecho"], true).await;
        for room in [&dm, &echo_room, &nio_room] {
            alice.ask(room, "hello").await;
        }
        // Alternate a reply-only request and one that runs an action script.
        let texts = ["hello", "who is on call"];
        let bot_times = round_trips(&mut alice, &dm, &texts).await;
        let echo_times = round_trips(&mut alice, &echo_room, &texts).await;
        let nio_times = round_trips(&mut alice, &nio_room, &texts).await;
        (bot_times, echo_times, nio_times, pid, bot)
    });
    let rss = rss_kib(pid, "VmRSS:");
    let peak = rss_kib(pid, "VmHWM:");
    drop(bot);
    drop(synapse);

    // A burst under Synapse's stock message rate limit.
    let synapse = Synapse::start_with(MessageLimit::Stock);
    synapse.register("opsbot");
    synapse.register_many(&crate::matrix_sync::names(BURST));
    let fixture = Fixture::trained();
    let config = matrix_config(&fixture, &synapse, &["u01"], "");
    let (to_last, refused) = runtime.block_on(async {
        let _bot = start_bot(&fixture, &config);
        let (mut people, room) = crate::matrix_sync::crowd(&synapse, BURST).await;
        let started = Instant::now();
        for person in people.iter_mut() {
            person.say(&room, "opsbot: who is on call").await;
        }
        let observer = &people[0];
        loop {
            let answered = observer
                .inbox
                .lock()
                .unwrap()
                .iter()
                .filter(|m| m.room == room.room_id() && m.body.contains("is on call for"))
                .count();
            if answered >= BURST {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(600),
                "{answered} answered"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let to_last = started.elapsed();
        tokio::time::sleep(Duration::from_secs(6)).await;
        (to_last, synapse.answered(BOT, 429))
    });

    let (bot_p50, bot_p99) = percentiles(&bot_times);
    let (echo_p50, echo_p99) = percentiles(&echo_times);
    let (nio_p50, nio_p99) = percentiles(&nio_times);
    let report = format!(
        "# opsbot Matrix benchmark\n\nProduced by `make bench` (`cargo test --release --test integration matrix_benchmark -- --ignored`) on local Synapse homeservers (loopback).\n\n## Round trip\n\n{MESSAGES} messages in a DM, one at a time, half replies only (\"hello\"), half running an action script (\"who is on call\"); the same {MESSAGES} to two minimal echo bots on the same Synapse: one on matrix-sdk (the client library opsbot uses) and one on matrix-nio (Python; the lowest floor).\n\n| floor | its round trip p50 / p99 | opsbot p50 / p99 | opsbot ÷ floor, p50 / p99 |\n|---|---|---|---|\n| matrix-nio echo bot (lowest) | {nio_p50:.1} / {nio_p99:.1} ms | {bot_p50:.1} / {bot_p99:.1} ms | {:.2}× / {:.2}× |\n| matrix-sdk echo bot | {echo_p50:.1} / {echo_p99:.1} ms | {bot_p50:.1} / {bot_p99:.1} ms | {:.2}× / {:.2}× |\n\nBot resident memory after the run / peak: {} / {} MiB.\n\n## Burst under Synapse's stock rate limit\n\n{BURST} people in one room send \"opsbot: who is on call\" at once; Synapse keeps its default message limit (0.2/s, bursts of 10) for the bot account.\n\n| measure | value |\n|---|---|\n| time from the first message to the last reply | {:.1} s |\n| requests of the bot refused with 429 | {refused} |\n",
        bot_p50 / nio_p50,
        bot_p99 / nio_p99,
        bot_p50 / echo_p50,
        bot_p99 / echo_p99,
        rss / 1024,
        peak / 1024,
        to_last.as_secs_f64()
    );
    println!("{report}");
    let out = repo().join("target").join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("matrix.md"), &report).unwrap();
    let json = serde_json::json!({
        "messages": MESSAGES,
        "rtt_ms_p50": bot_p50, "rtt_ms_p99": bot_p99,
        "echo_rtt_ms_p50": echo_p50, "echo_rtt_ms_p99": echo_p99,
        "nio_echo_rtt_ms_p50": nio_p50, "nio_echo_rtt_ms_p99": nio_p99,
        "rss_kib": rss, "peak_rss_kib": peak,
        "burst_people": BURST, "burst_seconds_to_last_reply": to_last.as_secs_f64(),
        "burst_refused_429": refused,
    });
    std::fs::write(
        out.join("matrix.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
}
