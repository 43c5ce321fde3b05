//! `make bench`: opsbot's intent classifier on public datasets, before and after
//! cross-validated training with the prototype head, beside the peers a user
//! would pick instead (TF-IDF + linear SVM, fastText) on the same splits in the
//! same run. Writes `target/bench/nlu.md` and `nlu.json`.
//!
//! - CLINC150 full: train on `train` + `oos_train`, calibrate on `val` + `oos_val`,
//!   test on `test` + `oos_test`: in-scope accuracy and out-of-scope recall.
//! - CLINC150 10-shot and 5-shot: that many queries per intent sampled from
//!   `train`, three seeds (mean and spread), tested on the in-scope `test` split.
//! - SNIPS 2017: train on `train_*_full`, test on `validate_*`.
//! - Each row in a process of its own, so its peak memory is its own.
//! - Cost: 10,000 CLINC150 examples trained with an empty embedding cache, then
//!   again after one new example; the example bot the same way.
//! - Latency per message through the encoder and classifier, and through
//!   `opsbot shell`; the shell's peak memory.
//!
//! "before" is [`NluConfig::single_hold_out`] (one 10 % hold-out for early
//! stopping and calibration, linear head only), "after" the defaults.
//! The datasets are read from `../shared/data` (or `OPSBOT_BENCH_DATA`).
//! `OPSBOT_BENCH_ROWS=clinc150_5shot` runs only the rows whose names contain it
//! (`cost`: only the cost and shell figures).

#[path = "common/mod.rs"]
mod common;
#[path = "nlu/data.rs"]
mod data;
#[path = "nlu/measure.rs"]
mod measure;
#[path = "nlu/report.rs"]
mod report;

use std::path::{Path, PathBuf};
use std::process::Command;

use opsbot_encoder::{CachedEncoder, EmbeddingCache, MiniLm};
use opsbot_nlu::{EntityExtractor, NluConfig};
use opsbot_spec::OUT_OF_SCOPE;
use serde_json::{json, Value};

/// The configurations compared on every row.
const CONFIGS: [&str; 2] = ["before", "after"];

fn config(name: &str) -> NluConfig {
    match name {
        "before" => NluConfig::single_hold_out(),
        _ => NluConfig::default(),
    }
}

pub fn peak_rss_mib() -> Option<f64> {
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

struct Dirs {
    root: PathBuf,
    data: PathBuf,
    out: PathBuf,
}

fn dirs() -> Dirs {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let data = std::env::var_os("OPSBOT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"));
    let out = root.join("target/bench");
    Dirs { root, data, out }
}

fn load_encoder(root: &Path) -> MiniLm {
    MiniLm::set_threads(std::thread::available_parallelism().map_or(1, |n| n.get()));
    MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("encoder")
}

/// In a child process: one row, printed as `ROW <json>`.
fn row(task_name: &str, config_name: &str) {
    let dirs = dirs();
    let encoder = load_encoder(&dirs.root);
    let cached = CachedEncoder::new(
        &encoder,
        EmbeddingCache::open(&dirs.out.join("embedding-cache.bin")),
    );
    let tasks = data::tasks(&dirs.data);
    let task = tasks
        .iter()
        .find(|t| t.name == task_name)
        .unwrap_or_else(|| panic!("no task {task_name}"));
    let mut figures = if config_name == "fine_tuned" {
        measure::fine_tuned(&dirs.root, task, &dirs.out)
    } else {
        let (model, mut figures) = measure::run_task(task, &config(config_name), &cached);
        if task.name == "clinc150_full" && config_name == "after" {
            let texts: Vec<String> = task.test.texts.iter().take(500).cloned().collect();
            figures["latency_one_message"] = measure::latency(&model, &encoder, &texts);
        }
        figures
    };
    figures["peak_rss_mib"] = json!(peak_rss_mib());
    println!("ROW {figures}");
}

/// In a child process: one cost row (`clinc150_10k` or `example_bot`).
fn cost(which: &str) {
    let dirs = dirs();
    let encoder = load_encoder(&dirs.root);
    if which == "example_bot" {
        let example = measure::retrain_example_bot(&dirs.root, &encoder);
        println!("ROW {example}");
        return;
    }
    let full = data::read_json(&dirs.data.join("clinc150/data_full.json"));
    let test = data::clinc_split(&full, &["test", "oos_test"]);
    let clinc = measure::retrain(
        &data::clinc_10k(&dirs.data),
        Some(&test),
        &encoder,
        &EntityExtractor::empty(),
    );
    println!("ROW {clinc}");
}

/// Runs this benchmark again as a child with `args`; its `ROW` line.
fn child(args: &[&str]) -> Value {
    let exe = std::env::current_exe().expect("benchmark binary");
    let output = Command::new(exe)
        .args(args)
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("benchmark child");
    let stdout = String::from_utf8_lossy(&output.stdout);
    match stdout.lines().find_map(|l| l.strip_prefix("ROW ")) {
        Some(line) => serde_json::from_str(line).expect("row JSON"),
        None => json!({ "error": format!("{args:?} exited with {}", output.status) }),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--row") {
        return row(&args[i + 1], &args[i + 2]);
    }
    if let Some(i) = args.iter().position(|a| a == "--cost") {
        return cost(&args[i + 1]);
    }
    let dirs = dirs();
    let splits_dir = dirs.out.join("splits");
    let _ = std::fs::remove_dir_all(&splits_dir);
    std::fs::create_dir_all(&splits_dir).expect("target/bench");
    if std::env::var_os("OPSBOT_BENCH_WARM").is_none() {
        let _ = std::fs::remove_file(dirs.out.join("embedding-cache.bin"));
    }
    let only = std::env::var("OPSBOT_BENCH_ROWS").unwrap_or_default();
    let tasks = data::tasks(&dirs.data);
    let mut rows = serde_json::Map::new();
    for task in tasks.iter().filter(|t| t.name.contains(&only)) {
        std::fs::write(
            splits_dir.join(format!("{}.json", task.name)),
            serde_json::to_vec(&json!({
                "train": data::pairs(&task.train),
                "test": data::pairs(&task.test),
                "out_of_scope_label": OUT_OF_SCOPE,
            }))
            .expect("json"),
        )
        .expect("write split");
        // "after" first: on a cold cache its time is the one a user sees first.
        let mut per_config = serde_json::Map::new();
        for config_name in CONFIGS.iter().rev() {
            per_config.insert(
                config_name.to_string(),
                child(&["--row", &task.name, config_name]),
            );
        }
        rows.insert(task.name.clone(), Value::Object(per_config));
    }
    let fine_tune = std::env::var("OPSBOT_BENCH_FINE_TUNE").as_deref() != Ok("0");
    if fine_tune && "clinc150_full".contains(&only) {
        let figures = child(&["--row", "clinc150_full", "fine_tuned"]);
        rows.insert(
            "clinc150_full_fine_tuned".into(),
            json!({ "after": figures }),
        );
    }
    let cost = if only.is_empty() || only == "cost" {
        json!({
            "clinc150_10k": child(&["--cost", "clinc150_10k"]),
            "example_bot": child(&["--cost", "example_bot"]),
        })
    } else {
        Value::Null
    };
    let shell = if only.is_empty() || only == "cost" {
        measure::shell_figures(&dirs.root)
    } else {
        Value::Null
    };

    let python = std::env::var("OPSBOT_BENCH_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| dirs.root.join(".venv-bench/bin/python"));
    let peers_path = dirs.out.join("peers.json");
    let peers = match Command::new(&python)
        .arg(dirs.root.join("tools/bench_peers.py"))
        .arg(&splits_dir)
        .arg(&peers_path)
        .status()
    {
        Ok(s) if s.success() => data::read_json(&peers_path),
        Ok(s) => json!({ "error": format!("tools/bench_peers.py exited with {s}") }),
        Err(e) => json!({ "error": format!("{}: {e}", python.display()) }),
    };
    let report = json!({
        "machine": { "cpus": std::thread::available_parallelism().map_or(1, |n| n.get()) },
        "rows": rows,
        "cost": cost,
        "opsbot_shell": shell,
        "peers": peers,
    });
    std::fs::write(
        dirs.out.join("nlu.json"),
        serde_json::to_vec_pretty(&report).expect("json"),
    )
    .expect("write nlu.json");
    let markdown = report::render(&report);
    std::fs::write(dirs.out.join("nlu.md"), &markdown).expect("write nlu.md");
    println!("{markdown}");
}
