//! `make bench`: figures for the conversational core, written to
//! `target/bench/core.md` and `core.json`.
//!
//! - intent accuracy of the example bot under 5-fold cross-validation;
//! - training time of the example bot's model;
//! - per-message latency of the shell pipeline (NLU → dialog → sled commit →
//!   reply), one message at a time, over scripted conversations that include
//!   running the real action scripts.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opsbot_encoder::{CachedEncoder, EmbeddingCache, MiniLm};
use opsbot_nlu::evaluate::cross_validate;
use opsbot_nlu::{EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};
use opsbot_runtime::{ConversationKey, Runtime, SledStore, Store};

const ROUNDS: usize = 40;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let project = opsbot_spec::load_project(&root).expect("example project loads");
    let data = TrainingData::from_project(&project);
    let extractor = EntityExtractor::new(&project);
    let config = NluConfig::default();
    // The example bot's encoder; training embeddings come from a cache that the
    // first training fills (training time below is with the cache warm).
    let encoder: Arc<MiniLm> =
        Arc::new(MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder"));
    MiniLm::set_threads(1);
    let cache_dir = tempfile::tempdir().expect("temp dir");
    let cached = CachedEncoder::new(
        &encoder,
        EmbeddingCache::open(&cache_dir.path().join("cache")),
    );
    let options = TrainOptions {
        encoder: Some(&cached),
        validation: None,
        previous: None,
    };

    let evaluation = cross_validate(
        &data,
        &extractor,
        &config,
        5,
        7,
        None,
        Some(&cached),
        |_| {},
    )
    .expect("cv");

    let train = || {
        opsbot_nlu::train(
            &data,
            &extractor,
            &config,
            &project.training_hash,
            options,
            |_| {},
        )
        .expect("training")
    };
    let mut train_times: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            let _ = train();
            started.elapsed()
        })
        .collect();
    train_times.sort();
    let model = train();

    // NLU alone (encoder + classifier), one message at a time.
    let nlu = Nlu::new(&project, model.clone(), Some(encoder.clone())).expect("nlu");
    let mut nlu_times: Vec<Duration> = Vec::new();
    for _ in 0..ROUNDS {
        for text in &data.texts {
            let started = Instant::now();
            std::hint::black_box(nlu.understand(text));
            nlu_times.push(started.elapsed());
        }
    }
    nlu_times.sort();

    // The shell pipeline: the same Bot::handle the shell calls, on a real store.
    let state = tempfile::tempdir().expect("temp dir");
    let store = SledStore::open(&state.path().join("opsbot.db")).expect("store opens");
    let bot = Runtime::new(
        project.clone(),
        Nlu::new(&project, model, Some(encoder.clone())).expect("nlu"),
        store,
        state.path().to_path_buf(),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let script: &[&str] = &[
        "restart apache",
        "192.168.0.24",
        "yes",
        "please bounce nginx on web-01",
        "no, on web-03",
        "no",
        "who is on call",
        "what's the weather in Paris",
        "help",
        "deploy shop 1.4.2 to staging",
        "cancel",
    ];
    let mut message_times: Vec<Duration> = Vec::new();
    let mut action_times: Vec<Duration> = Vec::new();
    for round in 0..ROUNDS {
        let key = ConversationKey::new("bench", format!("user-{round}"));
        for text in script {
            let mut replies = 0;
            let started = Instant::now();
            runtime
                .block_on(bot.handle(&key, text, &mut |_: String| replies += 1))
                .expect("handled");
            let elapsed = started.elapsed();
            // Messages that ran an action are timed apart: they include a process spawn.
            if matches!(*text, "yes" | "who is on call") {
                action_times.push(elapsed)
            } else {
                message_times.push(elapsed)
            }
            assert!(replies > 0, "every message gets a reply");
        }
    }
    message_times.sort();
    action_times.sort();
    let (state_only, with_record) = commit_costs(bot.store());

    let rows = [
        (
            "5-fold CV intent accuracy (example bot)",
            format!("{:.1}%", evaluation.accuracy * 100.0),
        ),
        (
            "5-fold CV macro-F1",
            format!("{:.1}%", evaluation.macro_f1 * 100.0),
        ),
        (
            "training examples / classes",
            format!("{} / {}", data.len(), model_classes(&data)),
        ),
        (
            "training time, median of 5",
            format!("{:.0} ms", ms(train_times[2])),
        ),
        (
            "NLU latency p50 / p99",
            format!(
                "{:.3} / {:.3} ms",
                ms(percentile(&nlu_times, 0.5)),
                ms(percentile(&nlu_times, 0.99))
            ),
        ),
        (
            "shell pipeline per message, no action: p50 / p99",
            format!(
                "{:.2} / {:.2} ms",
                ms(percentile(&message_times, 0.5)),
                ms(percentile(&message_times, 0.99))
            ),
        ),
        (
            "shell pipeline per message running an action: p50 / p99",
            format!(
                "{:.2} / {:.2} ms",
                ms(percentile(&action_times, 0.5)),
                ms(percentile(&action_times, 0.99))
            ),
        ),
        (
            "durable commit of a step, state only: p50 / p99",
            format!(
                "{:.2} / {:.2} ms",
                ms(percentile(&state_only, 0.5)),
                ms(percentile(&state_only, 0.99))
            ),
        ),
        (
            "durable commit with an audit record (keyed hash + checkpoint copy synced): p50 / p99",
            format!(
                "{:.2} / {:.2} ms",
                ms(percentile(&with_record, 0.5)),
                ms(percentile(&with_record, 0.99))
            ),
        ),
    ];
    let mut markdown = String::from("# opsbot core benchmark\n\nProduced by `make bench` (`cargo bench --bench pipeline`).\n\n| measure | value |\n|---|---|\n");
    for (name, value) in &rows {
        markdown.push_str(&format!("| {name} | {value} |\n"));
        println!("{name:<58} {value}");
    }
    markdown.push_str(&format!(
        "\nMessages timed: {} without an action, {} with one (each `yes` and on-call lookup spawns a real script); every message commits to a real sled store with fsync.\n",
        message_times.len(),
        action_times.len()
    ));
    let json = serde_json::json!({
        "cv_accuracy": evaluation.accuracy,
        "cv_macro_f1": evaluation.macro_f1,
        "training_examples": data.len(),
        "training_ms_median": ms(train_times[2]),
        "nlu_ms_p50": ms(percentile(&nlu_times, 0.5)),
        "nlu_ms_p99": ms(percentile(&nlu_times, 0.99)),
        "message_ms_p50": ms(percentile(&message_times, 0.5)),
        "message_ms_p99": ms(percentile(&message_times, 0.99)),
        "action_message_ms_p50": ms(percentile(&action_times, 0.5)),
        "action_message_ms_p99": ms(percentile(&action_times, 0.99)),
        "commit_state_ms_p50": ms(percentile(&state_only, 0.5)),
        "commit_state_ms_p99": ms(percentile(&state_only, 0.99)),
        "commit_audit_ms_p50": ms(percentile(&with_record, 0.5)),
        "commit_audit_ms_p99": ms(percentile(&with_record, 0.99)),
    });
    let out = root.join("target").join("bench");
    std::fs::create_dir_all(&out).unwrap();
    write(&out.join("core.md"), &markdown);
    write(
        &out.join("core.json"),
        &serde_json::to_string_pretty(&json).unwrap(),
    );
    println!("\nreport: {}", out.join("core.md").display());
}

/// What durability costs per step: a commit of the conversation state alone
/// (one sled flush), and one that also appends an audit record (HMAC chain,
/// sled flush, then the checkpoint copy synced), both before any reply.
fn commit_costs(store: &dyn Store) -> (Vec<Duration>, Vec<Duration>) {
    let key = ConversationKey::new("bench", "commit");
    let conversation = opsbot_dialog::Conversation::default();
    let template = store
        .audit_newest_first()
        .next()
        .expect("the pipeline run left an audit record")
        .expect("readable");
    let time = |with_record: bool| -> Vec<Duration> {
        let mut times: Vec<Duration> = (0..ROUNDS * 5)
            .map(|_| {
                let change = opsbot_runtime::store::Commit {
                    records: if with_record {
                        vec![template.clone()]
                    } else {
                        vec![]
                    },
                    ..opsbot_runtime::store::Commit::at(chrono::Utc::now())
                };
                let started = Instant::now();
                store.commit(&key, &conversation, change).expect("commit");
                started.elapsed()
            })
            .collect();
        times.sort();
        times
    };
    (time(false), time(true))
}

fn model_classes(data: &TrainingData) -> usize {
    data.classes().len()
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
