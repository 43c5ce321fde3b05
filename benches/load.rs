//! `make bench` (load): 1,000 simulated users × 10 turns each, interleaved
//! through the real engine, NLU and sled store, with zero cross-talk checked on
//! every reply. Writes `target/bench/load.md` and `load.json`.
//!
//! Each user's script mentions only their own host (web-<n>) and version
//! (<n>.0.0); a reply that names another user's host or version is cross-talk.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsbot_encoder::MiniLm;
use opsbot_nlu::{EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};
use opsbot_runtime::{ConversationKey, Runtime, SledStore};

const USERS: usize = 1000;

fn script(n: usize) -> Vec<String> {
    vec![
        "hello".into(),
        "restart apache".into(),
        format!("web-{n}"),
        "no".into(),
        format!("deploy shop {n}.0.0 to staging"),
        "no, make it qa".into(),
        "cancel".into(),
        format!("dry run: restart nginx on web-{n}"),
        "yes".into(),
        "who is on call".into(),
    ]
}

/// Tokens that identify user `n` in a reply, and the pattern of anyone's.
fn foreign_mention(reply: &str, n: usize) -> Option<String> {
    let own_host = format!("web-{n}");
    let own_version = format!("{n}.0.0");
    for word in
        reply.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')' || c == '=')
    {
        let word = word.trim_end_matches(['.', '?', '…', '”', '"', '\'']);
        // Another user's host: web-<m> as the scripts write it (the help's
        // example "web-01" is nobody's).
        let host_of_someone = word.strip_prefix("web-").is_some_and(|m| {
            m.parse::<usize>()
                .is_ok_and(|m| m < USERS && m.to_string() == word["web-".len()..])
        });
        if host_of_someone && word != own_host {
            return Some(word.to_string());
        }
        if word.ends_with(".0.0")
            && word.chars().next().is_some_and(|c| c.is_ascii_digit())
            && word != own_version
        {
            return Some(word.to_string());
        }
    }
    None
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut project = opsbot_spec::load_project(&root).expect("example project loads");
    // One execution per user per run: the default limit is far above it, but
    // set it explicitly so the benchmark measures the pipeline, not the limiter.
    project.settings.rate_limit.executions = u32::MAX;
    let data = TrainingData::from_project(&project);
    let encoder: Arc<MiniLm> =
        Arc::new(MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder"));
    MiniLm::set_threads(1);
    let model = opsbot_nlu::train(
        &data,
        &EntityExtractor::new(&project),
        &NluConfig::default(),
        &project.training_hash,
        TrainOptions {
            encoder: Some(encoder.as_ref()),
            validation: None,
            previous: None,
        },
        |_| {},
    )
    .expect("training");
    let state = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(&state.path().join("opsbot.db")).expect("store opens");
    let bot = Arc::new(Runtime::new(
        project.clone(),
        Nlu::new(&project, model, Some(encoder)).expect("nlu"),
        store,
        state.path().to_path_buf(),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();

    let started = Instant::now();
    let results = runtime.block_on(async {
        let mut tasks = Vec::with_capacity(USERS);
        for n in 0..USERS {
            let bot = bot.clone();
            tasks.push(tokio::spawn(async move {
                let key = ConversationKey::new("load", format!("user-{n}"));
                let mut latencies = Vec::new();
                let mut crosstalk = Vec::new();
                let mut replies_seen = 0;
                for text in script(n) {
                    let mut replies = Vec::new();
                    let t = Instant::now();
                    bot.handle(&key, &text, &mut |r: String| replies.push(r))
                        .await
                        .expect("handled");
                    latencies.push(t.elapsed());
                    replies_seen += replies.len();
                    for reply in &replies {
                        if let Some(other) = foreign_mention(reply, n) {
                            crosstalk.push(format!("user-{n} saw {other}: {reply}"));
                        }
                    }
                    // Interleave: let other users' turns run between ours.
                    tokio::task::yield_now().await;
                }
                (latencies, crosstalk, replies_seen)
            }));
        }
        let mut all = Vec::new();
        for task in tasks {
            all.push(task.await.expect("user task"));
        }
        all
    });
    let elapsed = started.elapsed();

    let mut latencies: Vec<Duration> = results.iter().flat_map(|r| r.0.iter().copied()).collect();
    let crosstalk: Vec<&String> = results.iter().flat_map(|r| r.1.iter()).collect();
    let replies: usize = results.iter().map(|r| r.2).sum();
    latencies.sort();
    let messages = latencies.len();
    let verification = bot.store().verify_audit().unwrap();
    let audit_records = verification.records;
    let throughput = messages as f64 / elapsed.as_secs_f64();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;

    let rows = [
        (
            "users × turns",
            format!("{USERS} × 10 = {messages} messages, {replies} replies"),
        ),
        ("wall time", format!("{:.2} s", elapsed.as_secs_f64())),
        ("throughput", format!("{throughput:.0} messages/s")),
        (
            "latency per message p50 / p99 / max",
            format!(
                "{:.2} / {:.2} / {:.2} ms",
                ms(percentile(&latencies, 0.5)),
                ms(percentile(&latencies, 0.99)),
                ms(latencies[messages - 1])
            ),
        ),
        (
            "cross-talk (replies naming another user's host or version)",
            crosstalk.len().to_string(),
        ),
        (
            "audit records written / chain verifies",
            format!("{audit_records} / {}", verification.problems.is_empty()),
        ),
    ];
    let mut markdown = String::from("# opsbot load benchmark\n\nProduced by `make bench` (`cargo bench --bench load`): 1,000 users, 10 turns each, interleaved on a 2-thread runtime through the real NLU, dialog engine and sled store (fsync per step); each user's \"who is on call\" runs the real action script.\n\n| measure | value |\n|---|---|\n");
    for (name, value) in &rows {
        markdown.push_str(&format!("| {name} | {value} |\n"));
        println!("{name:<60} {value}");
    }
    let json = serde_json::json!({
        "users": USERS,
        "messages": messages,
        "seconds": elapsed.as_secs_f64(),
        "messages_per_second": throughput,
        "latency_ms_p50": ms(percentile(&latencies, 0.5)),
        "latency_ms_p99": ms(percentile(&latencies, 0.99)),
        "crosstalk": crosstalk.len(),
        "audit_records": audit_records,
        "audit_chain_ok": verification.problems.is_empty(),
    });
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("load.md"), markdown).unwrap();
    std::fs::write(
        out.join("load.json"),
        serde_json::to_string_pretty(&json).unwrap(),
    )
    .unwrap();
    assert!(
        crosstalk.is_empty(),
        "cross-talk: {:?}",
        &crosstalk[..crosstalk.len().min(5)]
    );
    assert!(
        verification.problems.is_empty(),
        "{:?}",
        verification.problems
    );
    println!("\nreport: {}", out.join("load.md").display());
}
