//! `make bench`: opsbot's intent classifier on public datasets, beside the peers a
//! user would pick instead (TF-IDF + linear SVM, fastText), trained and tested on
//! the same splits in the same run. Writes `target/bench/nlu.md` and `nlu.json`.
//!
//! - CLINC150 full: train on `train` + `oos_train`, calibrate on `val` + `oos_val`,
//!   test on `test` + `oos_test`: in-scope accuracy and out-of-scope recall.
//! - CLINC150 10-shot: 10 queries per intent sampled from `train` (seed 0), test
//!   on the in-scope `test` split.
//! - SNIPS 2017: train on `train_*_full`, test on `validate_*`.
//! - Per-message latency through the encoder and classifier, one message at a
//!   time on one thread; retraining the example bot after adding one example;
//!   peak resident memory of `opsbot shell` with the encoder.
//!
//! The datasets are read from `../shared/data` (or `OPSBOT_BENCH_DATA`).
//! Training time includes encoding: the embedding cache starts empty each run.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsbot_encoder::{CachedEncoder, EmbeddingCache, MiniLm};
use opsbot_nlu::evaluate::evaluate_model;
use opsbot_nlu::{EntityExtractor, IntentModel, NluConfig, TrainOptions, TrainingData};
use opsbot_spec::OUT_OF_SCOPE;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};

fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (set OPSBOT_BENCH_DATA)", path.display()));
    serde_json::from_slice(&bytes).expect("valid JSON")
}

/// CLINC150 splits, with its `oos` label renamed to opsbot's out-of-scope class.
fn clinc_split(value: &Value, names: &[&str]) -> TrainingData {
    let mut data = TrainingData::default();
    for name in names {
        for pair in value[name].as_array().expect("CLINC150 split") {
            let label = pair[1].as_str().expect("label");
            let label = if label == "oos" { OUT_OF_SCOPE } else { label };
            data.push(pair[0].as_str().expect("text"), label);
        }
    }
    data
}

/// SNIPS 2017 files whose names start with `prefix`: intent from the top-level key.
fn snips(dir: &Path, prefix: &str) -> TrainingData {
    let names = common::snips_files(dir, prefix);
    let mut data = TrainingData::default();
    for path in names {
        let value = read_json(&path);
        for (intent, queries) in value.as_object().expect("object") {
            for query in queries.as_array().expect("queries") {
                let text: String = query["data"]
                    .as_array()
                    .expect("chunks")
                    .iter()
                    .map(|c| c["text"].as_str().unwrap_or(""))
                    .collect();
                data.push(text.trim(), intent);
            }
        }
    }
    data
}

fn few_shot(data: &TrainingData, per_class: usize, seed: u64) -> TrainingData {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, label) in data.labels.iter().enumerate() {
        if label != OUT_OF_SCOPE {
            by_class.entry(label).or_default().push(i);
        }
    }
    let mut rng = rand::rngs::SmallRng::seed_from_u64(seed);
    let mut chosen = Vec::new();
    for indices in by_class.values_mut() {
        indices.shuffle(&mut rng);
        chosen.extend(indices.iter().take(per_class));
    }
    chosen.sort_unstable();
    data.subset(&chosen)
}

fn in_scope_only(data: &TrainingData) -> TrainingData {
    let keep: Vec<usize> = (0..data.len())
        .filter(|&i| data.labels[i] != OUT_OF_SCOPE)
        .collect();
    data.subset(&keep)
}

fn pairs(data: &TrainingData) -> Value {
    data.texts
        .iter()
        .zip(&data.labels)
        .map(|(t, l)| json!([t, l]))
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

struct Task {
    name: &'static str,
    title: &'static str,
    train: TrainingData,
    validation: Option<TrainingData>,
    test: TrainingData,
}

struct Outcome {
    model: IntentModel,
    seconds: f64,
    figures: Value,
}

fn run_task(task: &Task, encoder: &CachedEncoder<'_>) -> Outcome {
    eprintln!(
        "bench: {} ({} training examples)",
        task.title,
        task.train.len()
    );
    let extractor = EntityExtractor::empty();
    let started = Instant::now();
    let model = opsbot_nlu::train(
        &task.train,
        &extractor,
        &NluConfig::default(),
        task.name,
        TrainOptions {
            encoder: Some(encoder),
            validation: task.validation.as_ref(),
        },
        |_| {},
    )
    .expect("training");
    let seconds = started.elapsed().as_secs_f64();
    let evaluation = evaluate_model(&model, &task.test, &extractor, Some(encoder)).expect("eval");
    // Accuracy of the likeliest in-scope intent, threshold aside: the figure the
    // few-shot and SNIPS protocols report (their test sets have no out-of-scope).
    let argmax = {
        let texts: Vec<&str> = task.test.texts.iter().map(String::as_str).collect();
        let embeddings = opsbot_nlu::SentenceEncoder::encode(encoder, &texts).expect("encode");
        let right = texts
            .iter()
            .zip(&embeddings)
            .zip(&task.test.labels)
            .filter(|((text, e), label)| {
                model
                    .rank(text, &[], Some(e))
                    .into_iter()
                    .find(|(c, _)| c != OUT_OF_SCOPE)
                    .is_some_and(|(c, _)| &c == *label)
            })
            .filter(|(_, label)| *label != OUT_OF_SCOPE)
            .count();
        right as f64
            / task
                .test
                .labels
                .iter()
                .filter(|l| *l != OUT_OF_SCOPE)
                .count() as f64
    };
    // The trade-off between answering and refusing, on the test set, for people
    // choosing `confidence_threshold` themselves (the headline uses the
    // threshold learned on validation data).
    let operating_points: Vec<Value> = if evaluation.out_of_scope.is_some() {
        let texts: Vec<&str> = task.test.texts.iter().map(String::as_str).collect();
        let embeddings = opsbot_nlu::SentenceEncoder::encode(encoder, &texts).expect("encode");
        let ranked: Vec<Vec<(String, f32)>> = texts
            .iter()
            .zip(&embeddings)
            .map(|(text, e)| model.rank(text, &[], Some(e)))
            .collect();
        (1..10)
            .map(|step| {
                let threshold = step as f32 / 10.0;
                let decided: Vec<String> = ranked
                    .iter()
                    .map(|r| opsbot_nlu::model::decide(r, threshold).0)
                    .collect();
                let (mut right, mut inside, mut caught, mut outside) = (0, 0, 0, 0);
                for (label, decision) in task.test.labels.iter().zip(&decided) {
                    if label == OUT_OF_SCOPE {
                        outside += 1;
                        caught += usize::from(decision == OUT_OF_SCOPE);
                    } else {
                        inside += 1;
                        right += usize::from(decision == label);
                    }
                }
                json!({
                    "threshold": threshold,
                    "in_scope_accuracy": right as f64 / inside.max(1) as f64,
                    "out_of_scope_recall": caught as f64 / outside.max(1) as f64,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let figures = json!({
        "operating_points": operating_points,
        "train_examples": task.train.len(),
        "test_examples": task.test.len(),
        "training_seconds": seconds,
        "accuracy": evaluation.accuracy,
        "in_scope_accuracy": evaluation.in_scope_accuracy,
        "in_scope_accuracy_no_threshold": argmax,
        "out_of_scope_recall": evaluation.out_of_scope.as_ref().map(|o| o.recall),
        "out_of_scope_precision": evaluation.out_of_scope.as_ref().map(|o| o.precision),
        "threshold": model.meta.calibration.threshold,
        "best_epoch": model.meta.metrics.best_epoch,
        "macro_f1": evaluation.macro_f1,
    });
    eprintln!("bench: {} → {figures}", task.name);
    Outcome {
        model,
        seconds,
        figures,
    }
}

/// Fine-tunes a copy of the encoder on the task's training data, then trains
/// and tests the classifier on the tuned embeddings. Time includes everything.
fn fine_tuned_clinc(root: &Path, base: &MiniLm, task: &Task, out_dir: &Path) -> Value {
    let started = Instant::now();
    let classes = task.train.classes();
    let labels: Vec<usize> = task
        .train
        .labels
        .iter()
        .map(|l| classes.binary_search(l).expect("class"))
        .collect();
    let texts: Vec<&str> = task.train.texts.iter().map(String::as_str).collect();
    let epochs: usize = std::env::var("OPSBOT_BENCH_FINE_TUNE_EPOCHS")
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(2);
    let config = opsbot_encoder::FineTuneConfig {
        epochs,
        ..Default::default()
    };
    // A fresh copy: the stock encoder stays as it is for the other tasks.
    let tuning = MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder");
    let _ = base;
    let report = tuning
        .fine_tune(&texts, &labels, classes.len(), &config, |done, total| {
            if done % 50 == 0 || done == total {
                eprintln!("bench: fine-tuning step {done}/{total}");
            }
        })
        .expect("fine-tuning");
    let tuned_dir = out_dir.join("encoder-fine-tuned");
    tuning
        .save(&root.join(opsbot_encoder::MODEL_DIR), &tuned_dir)
        .expect("save");
    drop(tuning);
    let tuned = MiniLm::load(&tuned_dir).expect("tuned encoder");
    let cached = CachedEncoder::new(
        &tuned,
        EmbeddingCache::open(&out_dir.join("embedding-cache.bin")),
    );
    let tuned_task = Task {
        name: "clinc150_full_fine_tuned",
        title: "CLINC150 full, fine-tuned encoder",
        train: task.train.clone(),
        validation: task.validation.clone(),
        test: task.test.clone(),
    };
    let outcome = run_task(&tuned_task, &cached);
    let mut figures = outcome.figures;
    figures["training_seconds"] = json!(started.elapsed().as_secs_f64());
    figures["fine_tune_epochs"] = json!(epochs);
    figures["fine_tune_loss"] = json!([report.first_epoch_loss, report.last_epoch_loss]);
    figures
}

/// Latency of one message through the encoder (one thread) and the classifier.
fn latency(model: &IntentModel, encoder: &MiniLm, texts: &[String]) -> Value {
    MiniLm::set_threads(1);
    let mut times = Vec::new();
    for text in texts {
        let started = Instant::now();
        let embedding = encoder.encode(&[text.as_str()]).expect("encode");
        std::hint::black_box(model.rank(text, &[], Some(&embedding[0])));
        times.push(started.elapsed());
    }
    times.sort();
    json!({ "messages": texts.len(), "p50_ms": percentile(&times, 0.5), "p99_ms": percentile(&times, 0.99) })
}

/// Retraining the example bot after one new example, with the embedding cache warm.
fn retrain_example_bot(root: &Path, encoder: &MiniLm) -> Value {
    let project = opsbot_spec::load_project(root).expect("example bot");
    let mut data = TrainingData::from_project(&project);
    let extractor = EntityExtractor::new(&project);
    let dir = tempfile::tempdir().expect("temp dir");
    let cached = CachedEncoder::new(encoder, EmbeddingCache::open(&dir.path().join("cache")));
    let options = TrainOptions {
        encoder: Some(&cached),
        validation: None,
    };
    let train = |data: &TrainingData| {
        let started = Instant::now();
        opsbot_nlu::train(
            data,
            &extractor,
            &NluConfig::default(),
            "x",
            options,
            |_| {},
        )
        .expect("training");
        started.elapsed().as_secs_f64()
    };
    let cold = train(&data);
    data.push(
        "please restart the frobnicator on web-42",
        "restart_service",
    );
    let after_edit = train(&data);
    json!({ "examples": data.len(), "cold_seconds": cold, "after_one_new_example_seconds": after_edit })
}

/// Peak resident memory of `opsbot shell` on the example bot after a short conversation.
fn shell_memory(root: &Path) -> Value {
    let binary = root.join("target/release/opsbot");
    let state = tempfile::tempdir().expect("temp dir");
    let mut child = match Command::new(&binary)
        .args(["--project"])
        .arg(root)
        .arg("--state")
        .arg(state.path())
        .args(["shell", "--user", "bench"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => return json!({ "error": format!("{}: {e}", binary.display()) }),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    for message in [
        "restart apache on web-01",
        "no",
        "what's the weather like",
        "deploy checkout 2.4.1 to staging",
        "cancel",
        "help",
    ] {
        let _ = writeln!(stdin, "{message}");
    }
    std::thread::sleep(Duration::from_secs(3));
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    drop(stdin);
    let _ = child.wait();
    let kib: Option<u64> = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok());
    json!({ "peak_rss_mib": kib.map(|k| k as f64 / 1024.0) })
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kib: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data_dir = std::env::var_os("OPSBOT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"));
    let out_dir = root.join("target/bench");
    let splits_dir = out_dir.join("splits");
    std::fs::create_dir_all(&splits_dir).expect("target/bench");

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    MiniLm::set_threads(threads);
    let encoder = MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder");
    let cache_path = out_dir.join("embedding-cache.bin");
    if std::env::var_os("OPSBOT_BENCH_WARM").is_none() {
        let _ = std::fs::remove_file(&cache_path);
    }
    let cached = CachedEncoder::new(&encoder, EmbeddingCache::open(&cache_path));

    let full = read_json(&data_dir.join("clinc150/data_full.json"));
    let clinc_train = clinc_split(&full, &["train", "oos_train"]);
    let clinc_test = clinc_split(&full, &["test", "oos_test"]);
    let tasks = [
        Task {
            name: "clinc150_full",
            title: "CLINC150 full (oos-train, threshold on val)",
            train: clinc_train.clone(),
            validation: Some(clinc_split(&full, &["val", "oos_val"])),
            test: clinc_test.clone(),
        },
        Task {
            name: "clinc150_10shot",
            title: "CLINC150 10-shot",
            train: few_shot(&clinc_train, 10, 0),
            validation: None,
            test: in_scope_only(&clinc_test),
        },
        Task {
            name: "snips2017",
            title: "SNIPS 2017 intents",
            train: snips(&data_dir.join("snips2017"), "train_"),
            validation: None,
            test: snips(&data_dir.join("snips2017"), "validate_"),
        },
    ];
    let mut results = serde_json::Map::new();
    let mut clinc_model = None;
    for task in &tasks {
        std::fs::write(
            splits_dir.join(format!("{}.json", task.name)),
            serde_json::to_vec(&json!({
                "train": pairs(&task.train),
                "test": pairs(&task.test),
                "out_of_scope_label": OUT_OF_SCOPE,
            }))
            .expect("json"),
        )
        .expect("write split");
        let outcome = run_task(task, &cached);
        let _ = outcome.seconds;
        results.insert(task.name.into(), outcome.figures);
        if clinc_model.is_none() {
            clinc_model = Some(outcome.model);
        }
    }
    // The same CLINC150 protocol with the encoder fine-tuned first (minutes).
    if std::env::var("OPSBOT_BENCH_FINE_TUNE").as_deref() != Ok("0") {
        let figures = fine_tuned_clinc(&root, &encoder, &tasks[0], &out_dir);
        eprintln!("bench: clinc150_full_fine_tuned → {figures}");
        results.insert("clinc150_full_fine_tuned".into(), figures);
    }
    let latency_texts: Vec<String> = clinc_test.texts.iter().take(500).cloned().collect();
    let latency = latency(
        clinc_model.as_ref().expect("model"),
        &encoder,
        &latency_texts,
    );
    eprintln!("bench: latency {latency}");
    let retrain = retrain_example_bot(&root, &encoder);
    eprintln!("bench: retrain {retrain}");
    let shell = shell_memory(&root);
    eprintln!("bench: shell {shell}");

    let python = std::env::var("OPSBOT_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join(".venv-bench/bin/python"));
    let peers_path = out_dir.join("peers.json");
    let peers = match Command::new(&python)
        .arg(root.join("tools/bench_peers.py"))
        .arg(&splits_dir)
        .arg(&peers_path)
        .status()
    {
        Ok(s) if s.success() => read_json(&peers_path),
        Ok(s) => json!({ "error": format!("tools/bench_peers.py exited with {s}") }),
        Err(e) => json!({ "error": format!("{}: {e}", python.display()) }),
    };

    let report = json!({
        "machine": { "cpus": threads },
        "opsbot": results,
        "latency_one_message": latency,
        "retrain_example_bot": retrain,
        "opsbot_shell": shell,
        "bench_process_peak_rss_mib": peak_rss_mib(),
        "peers": peers,
    });
    std::fs::write(
        out_dir.join("nlu.json"),
        serde_json::to_vec_pretty(&report).expect("json"),
    )
    .expect("write nlu.json");
    let markdown = render_markdown(&report);
    std::fs::write(out_dir.join("nlu.md"), &markdown).expect("write nlu.md");
    println!("{markdown}");
}

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1}", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

fn render_markdown(report: &Value) -> String {
    let mut md = String::new();
    md.push_str("# opsbot NLU benchmark (`make bench`)\n\n");
    md.push_str(&format!(
        "{} CPU cores, no GPU. opsbot: all-MiniLM-L6-v2 embeddings (frozen) + n-gram features, softmax regression trained in Rust; training time includes encoding with an empty cache. Peers on the same splits, in the same run.\n\n",
        report["machine"]["cpus"]
    ));
    md.push_str("| task | system | in-scope acc. | OOS recall | acc. (no threshold) | training s | p50 ms | p99 ms |\n");
    md.push_str("|---|---|---|---|---|---|---|---|\n");
    let tasks = [
        ("clinc150_full", "CLINC150 full"),
        ("clinc150_full_fine_tuned", "CLINC150 full, `--fine-tune`"),
        ("clinc150_10shot", "CLINC150 10-shot"),
        ("snips2017", "SNIPS 2017 intents"),
    ];
    for (key, title) in tasks {
        let o = &report["opsbot"][key];
        if o.is_null() {
            continue;
        }
        let (p50, p99) = if key == "clinc150_full" {
            (
                num(&report["latency_one_message"]["p50_ms"], 1),
                num(&report["latency_one_message"]["p99_ms"], 1),
            )
        } else {
            ("".into(), "".into())
        };
        md.push_str(&format!(
            "| {title} | **opsbot** | {} | {} | {} | {} | {p50} | {p99} |\n",
            pct(&o["in_scope_accuracy"]),
            pct(&o["out_of_scope_recall"]),
            pct(&o["in_scope_accuracy_no_threshold"]),
            num(&o["training_seconds"], 1),
        ));
        for (peer, name) in [
            ("tfidf_linear_svm", "TF-IDF + LinearSVC"),
            ("fasttext", "fastText"),
        ] {
            let p = &report["peers"][key][peer];
            if p.is_null() {
                continue;
            }
            if let Some(error) = p.get("error") {
                md.push_str(&format!(
                    "| {title} | {name} | error: {error} | | | | | |\n"
                ));
                continue;
            }
            md.push_str(&format!(
                "| {title} | {name} | {} | {} | {} | {} | {} | {} |\n",
                pct(&p["in_scope_accuracy"]),
                pct(&p["out_of_scope_recall"]),
                pct(&p["in_scope_accuracy"]),
                num(&p["training_seconds"], 1),
                num(&p["latency"]["p50_ms"], 2),
                num(&p["latency"]["p99_ms"], 2),
            ));
        }
    }
    md.push_str(&format!(
        "\nThreshold learned on CLINC150 val + oos_val: {}. Peers have no threshold (out of scope is one more class, the paper's oos-train protocol).\n\n",
        num(&report["opsbot"]["clinc150_full"]["threshold"], 2)
    ));
    if let Some(points) = report["opsbot"]["clinc150_full"]["operating_points"].as_array() {
        md.push_str("CLINC150 full, other thresholds (test set; for choosing `confidence_threshold`):\n\n| threshold | in-scope acc. | OOS recall |\n|---|---|---|\n");
        for point in points {
            md.push_str(&format!(
                "| {} | {} | {} |\n",
                num(&point["threshold"], 1),
                pct(&point["in_scope_accuracy"]),
                pct(&point["out_of_scope_recall"])
            ));
        }
        md.push('\n');
    }
    md.push_str(&format!(
        "- Latency per message (encoder + classifier, one at a time, one thread): p50 {} ms, p99 {} ms over {} CLINC150 test queries.\n",
        num(&report["latency_one_message"]["p50_ms"], 1),
        num(&report["latency_one_message"]["p99_ms"], 1),
        report["latency_one_message"]["messages"]
    ));
    md.push_str(&format!(
        "- Retraining the example bot ({} examples) after adding one example: {} s (first training with an empty cache: {} s).\n",
        report["retrain_example_bot"]["examples"],
        num(&report["retrain_example_bot"]["after_one_new_example_seconds"], 2),
        num(&report["retrain_example_bot"]["cold_seconds"], 2),
    ));
    md.push_str(&format!(
        "- Peak resident memory of `opsbot shell` with the encoder: {} MiB. This benchmark process (all tasks): {} MiB; peers' process: {} MiB.\n",
        num(&report["opsbot_shell"]["peak_rss_mib"], 0),
        num(&report["bench_process_peak_rss_mib"], 0),
        num(&report["peers"]["peak_rss_mib"], 0),
    ));
    md.push_str("\nPublished (Larson et al. 2019, Table 2, in-scope / OOS recall): BERT 96.9 / 40.3 (oos-train), BERT + threshold 96.2 / 52.3, Rasa 91.5 / 45.3, DialogFlow 91.7 / 14.0, SVM 91.0 / 14.5, FastText 89.0 / 9.7.\n");
    md
}
