//! The benchmark's data sets, read from `../shared/data`: CLINC150 (full and
//! k-shot samples) and SNIPS 2017, as opsbot training data.

use std::collections::BTreeMap;
use std::path::Path;

use opsbot_nlu::TrainingData;
use opsbot_spec::OUT_OF_SCOPE;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde_json::{json, Value};

pub fn read_json(path: &Path) -> Value {
    let bytes = std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (set OPSBOT_BENCH_DATA)", path.display()));
    serde_json::from_slice(&bytes).expect("valid JSON")
}

/// CLINC150 splits, with its `oos` label renamed to opsbot's out-of-scope class.
pub fn clinc_split(value: &Value, names: &[&str]) -> TrainingData {
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
pub fn snips(dir: &Path, prefix: &str) -> TrainingData {
    let names = crate::common::snips_files(dir, prefix);
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

/// `per_class` in-scope examples of each intent, drawn with `seed`.
pub fn few_shot(data: &TrainingData, per_class: usize, seed: u64) -> TrainingData {
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

/// `count` examples drawn at random (all classes, out of scope included).
pub fn sample(data: &TrainingData, count: usize, seed: u64) -> TrainingData {
    let mut indices: Vec<usize> = (0..data.len()).collect();
    indices.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(seed));
    indices.truncate(count);
    indices.sort_unstable();
    data.subset(&indices)
}

pub fn in_scope_only(data: &TrainingData) -> TrainingData {
    let keep: Vec<usize> = (0..data.len())
        .filter(|&i| data.labels[i] != OUT_OF_SCOPE)
        .collect();
    data.subset(&keep)
}

pub fn pairs(data: &TrainingData) -> Value {
    data.texts
        .iter()
        .zip(&data.labels)
        .map(|(t, l)| json!([t, l]))
        .collect()
}

/// A benchmark task: what to train on, what to calibrate on, what to test on.
pub struct Task {
    pub name: String,
    pub train: TrainingData,
    pub validation: Option<TrainingData>,
    pub test: TrainingData,
}

/// Few-shot seeds: each k-shot row is the mean over these draws.
pub const SEEDS: [u64; 3] = [0, 1, 2];

/// Every task, by name; the few-shot ones once per seed (`clinc150_5shot_s1`).
pub fn tasks(data_dir: &Path) -> Vec<Task> {
    let full = read_json(&data_dir.join("clinc150/data_full.json"));
    let clinc_train = clinc_split(&full, &["train", "oos_train"]);
    let clinc_test = clinc_split(&full, &["test", "oos_test"]);
    let mut tasks = vec![Task {
        name: "clinc150_full".into(),
        train: clinc_train.clone(),
        validation: Some(clinc_split(&full, &["val", "oos_val"])),
        test: clinc_test.clone(),
    }];
    for shots in [10, 5] {
        for seed in SEEDS {
            tasks.push(Task {
                name: format!("clinc150_{shots}shot_s{seed}"),
                train: few_shot(&clinc_train, shots, seed),
                validation: None,
                test: in_scope_only(&clinc_test),
            });
        }
    }
    tasks.push(Task {
        name: "snips2017".into(),
        train: snips(&data_dir.join("snips2017"), "train_"),
        validation: None,
        test: snips(&data_dir.join("snips2017"), "validate_"),
    });
    tasks
}

/// 10,000 CLINC150 training examples (out of scope included), for the cost rows.
pub fn clinc_10k(data_dir: &Path) -> TrainingData {
    let full = read_json(&data_dir.join("clinc150/data_full.json"));
    sample(&clinc_split(&full, &["train", "oos_train"]), 10_000, 7)
}
