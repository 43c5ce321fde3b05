//! One benchmark row: train on a task with a configuration, test, and the
//! figures — accuracy with and without the threshold, right answers refused,
//! calibration error, time and memory. Also the latency, retraining and shell
//! measurements.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use opsbot_encoder::{CachedEncoder, EmbeddingCache, MiniLm};
use opsbot_nlu::evaluate::{evaluate_model, read_ranking, score_reads};
use opsbot_nlu::{
    EntityExtractor, IntentModel, NluConfig, SentenceEncoder, TrainOptions, TrainingData,
};
use serde_json::{json, Value};

use crate::data::Task;

pub fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index].as_secs_f64() * 1000.0
}

/// Trains on the task with `config` and tests; the model and the figures.
pub fn run_task(
    task: &Task,
    config: &NluConfig,
    encoder: &dyn SentenceEncoder,
) -> (IntentModel, Value) {
    eprintln!(
        "bench: {} ({} training examples)",
        task.name,
        task.train.len()
    );
    let extractor = EntityExtractor::empty();
    let started = Instant::now();
    let model = opsbot_nlu::train(
        &task.train,
        &extractor,
        config,
        &task.name,
        TrainOptions {
            encoder: Some(encoder),
            validation: task.validation.as_ref(),
            previous: None,
        },
        |_| {},
    )
    .expect("training");
    let seconds = started.elapsed().as_secs_f64();
    let evaluation = evaluate_model(&model, &task.test, &extractor, Some(encoder)).expect("eval");
    let texts: Vec<&str> = task.test.texts.iter().map(String::as_str).collect();
    let embeddings = encoder.encode(&texts).expect("encode");
    let ranked: Vec<Vec<(String, f32)>> = texts
        .iter()
        .zip(&embeddings)
        .map(|(text, e)| model.rank(text, &[], Some(e)))
        .collect();
    // Accuracy of the likeliest in-scope intent, threshold aside: the figure the
    // few-shot and SNIPS protocols report (their test sets have no out-of-scope).
    let no_threshold = score_reads(
        &task.test,
        &ranked
            .iter()
            .map(|r| read_ranking(r, 0.0))
            .collect::<Vec<_>>(),
    );
    // The trade-off between answering and refusing on the test set, for people
    // choosing `confidence_threshold` themselves.
    let operating_points: Vec<Value> = if evaluation.out_of_scope.is_some() {
        (1..10)
            .map(|step| {
                let threshold = step as f32 / 10.0;
                let reads: Vec<_> = ranked.iter().map(|r| read_ranking(r, threshold)).collect();
                let e = score_reads(&task.test, &reads);
                json!({
                    "threshold": threshold,
                    "in_scope_accuracy": e.in_scope_accuracy,
                    "out_of_scope_recall": e.out_of_scope.as_ref().map(|o| o.recall),
                    "refused_right": e.refused_right,
                })
            })
            .collect()
    } else {
        Vec::new()
    };
    let metrics = &model.meta.metrics;
    let figures = json!({
        "train_examples": task.train.len(),
        "test_examples": task.test.len(),
        "training_seconds": seconds,
        "encoded": metrics.encoded,
        "accuracy": evaluation.accuracy,
        "in_scope_accuracy": evaluation.in_scope_accuracy,
        "in_scope_accuracy_no_threshold": no_threshold.in_scope_accuracy,
        "refused_right": evaluation.refused_right,
        "ece": evaluation.reliability.ece,
        "overconfidence": evaluation.reliability.overconfidence,
        "ece_no_threshold_readings": metrics.reliability.ece,
        "out_of_scope_recall": evaluation.out_of_scope.as_ref().map(|o| o.recall),
        "out_of_scope_precision": evaluation.out_of_scope.as_ref().map(|o| o.precision),
        "threshold": model.meta.calibration.threshold,
        "temperature": model.meta.calibration.temperature,
        "threshold_rule": model.meta.calibration.threshold_rule,
        "method": metrics.method,
        "prototype_weight": model.prototypes.as_ref().map_or(0.0, |p| p.weight),
        "neighbour_weight": model.neighbours.as_ref().map_or(0.0, |n| n.weight),
        "best_epoch": metrics.best_epoch,
        "macro_f1": evaluation.macro_f1,
        "operating_points": operating_points,
    });
    eprintln!("bench: {} → {figures}", task.name);
    (model, figures)
}

/// Fine-tunes a copy of the encoder on the task's training data, then trains
/// and tests the classifier on the tuned embeddings. Time includes everything.
pub fn fine_tuned(root: &Path, task: &Task, out_dir: &Path) -> Value {
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
    let tuning = MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder");
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
    let cache = tempfile::tempdir().expect("temp dir");
    let cached = CachedEncoder::new(&tuned, EmbeddingCache::open(&cache.path().join("cache")));
    let (_, mut figures) = run_task(task, &NluConfig::default(), &cached);
    figures["training_seconds"] = json!(started.elapsed().as_secs_f64());
    figures["fine_tune_epochs"] = json!(epochs);
    figures["fine_tune_loss"] = json!([report.first_epoch_loss, report.last_epoch_loss]);
    figures
}

/// Latency of one message through the encoder (one thread) and the classifier.
pub fn latency(model: &IntentModel, encoder: &MiniLm, texts: &[String]) -> Value {
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

/// Training on `data` with an empty cache, then again after one more example
/// (a warm start where it applies), and a full retrain; accuracy on `test`
/// (without threshold) for each, where given.
pub fn retrain(
    data: &TrainingData,
    test: Option<&TrainingData>,
    encoder: &MiniLm,
    extractor: &EntityExtractor,
) -> Value {
    let dir = tempfile::tempdir().expect("temp dir");
    let cached = CachedEncoder::new(encoder, EmbeddingCache::open(&dir.path().join("cache")));
    let train = |data: &TrainingData, previous: Option<&IntentModel>| {
        let started = Instant::now();
        let model = opsbot_nlu::train(
            data,
            extractor,
            &NluConfig::default(),
            "x",
            TrainOptions {
                encoder: Some(&cached),
                validation: None,
                previous,
            },
            |_| {},
        )
        .expect("training");
        let seconds = started.elapsed().as_secs_f64();
        let accuracy = test.map(|test| {
            let reads = opsbot_nlu::evaluate::predict(&model, test, extractor, Some(&cached))
                .expect("predict");
            let reads: Vec<_> = reads
                .into_iter()
                .map(|mut r| {
                    r.decided = (r.best_in_scope.clone(), 1.0);
                    r
                })
                .collect();
            score_reads(test, &reads).in_scope_accuracy
        });
        (model, seconds, accuracy)
    };
    // Encoding first, on its own, so time and memory can be told apart.
    let loaded_peak = crate::peak_rss_mib();
    let started = Instant::now();
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    cached.encode(&texts).expect("encode");
    let encoding = started.elapsed().as_secs_f64();
    let encoded_peak = crate::peak_rss_mib();
    let (cold_model, training, cold_accuracy) = train(data, None);
    let cold = encoding + training;
    let cold_peak = crate::peak_rss_mib();
    let mut edited = data.clone();
    let label = edited.labels[0].clone();
    edited.push("please could you do that first thing again for me", &label);
    let (warm_model, after_edit, warm_accuracy) = train(&edited, Some(&cold_model));
    let (_, full, full_accuracy) = train(&edited, None);
    json!({
        "examples": data.len(),
        "method": cold_model.meta.metrics.method,
        "cold_seconds": cold,
        "encoding_seconds": encoding,
        "peak_rss_mib_encoder_loaded": loaded_peak,
        "peak_rss_mib_after_encoding": encoded_peak,
        "cold_peak_rss_mib": cold_peak,
        "cold_accuracy_no_threshold": cold_accuracy,
        "after_one_new_example_seconds": after_edit,
        "after_one_new_example_method": warm_model.meta.metrics.method,
        "after_one_new_example_accuracy_no_threshold": warm_accuracy,
        "full_retrain_seconds": full,
        "full_retrain_accuracy_no_threshold": full_accuracy,
    })
}

/// Retraining the example bot after one new example, with the embedding cache warm.
pub fn retrain_example_bot(root: &Path, encoder: &MiniLm) -> Value {
    let project = opsbot_spec::load_project(root).expect("example bot");
    let data = TrainingData::from_project(&project);
    retrain(&data, None, encoder, &EntityExtractor::new(&project))
}

fn shell(root: &Path, messages: &[&str]) -> (f64, Option<f64>) {
    // The binary of this benchmark's own build profile.
    let binary = Path::new(env!("CARGO_BIN_EXE_opsbot"));
    let state = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut child = match Command::new(binary)
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
        Err(e) => panic!(
            "{}: {e} (run `cargo build --release` first)",
            binary.display()
        ),
    };
    let mut stdin = child.stdin.take().expect("stdin");
    for message in messages {
        let _ = writeln!(stdin, "{message}");
    }
    drop(stdin);
    // The peak is read while the process still exists: after the last reply.
    let pid = child.id();
    let mut peak = None;
    loop {
        if let Some(status) = child.try_wait().expect("shell status") {
            assert!(
                status.success(),
                "`opsbot shell` failed ({status}); is the example bot trained (`opsbot train`)?"
            );
            break;
        }
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        if let Some(kib) = status
            .lines()
            .find(|l| l.starts_with("VmHWM:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
        {
            peak = Some(kib / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (started.elapsed().as_secs_f64(), peak)
}

/// `opsbot shell` on the example bot: its peak memory, and the cost of one
/// message through the whole shell path (parse, dialog, store, audit) — the
/// time for 201 messages minus the time for 1, over 200.
pub fn shell_figures(root: &Path) -> Value {
    let conversation = [
        "restart apache on web-01",
        "no",
        "what's the weather like",
        "deploy checkout 2.4.1 to staging",
        "cancel",
        "help",
    ];
    let (_, peak) = shell(root, &conversation);
    let one = ["what's the weather like"];
    let many: Vec<&str> = (0..201).map(|i| conversation[[2, 5][i % 2]]).collect();
    let (t1, _) = shell(root, &one);
    let (t201, _) = shell(root, &many);
    json!({
        "peak_rss_mib": peak,
        "startup_and_one_message_seconds": t1,
        "per_message_ms": (t201 - t1) / 200.0 * 1000.0,
    })
}
