//! Training's choices on synthetic data: cross-validated calibration on small
//! data, the warm start after a small edit of a large project, and when the
//! warm start does not apply.

use std::collections::HashSet;
use std::sync::Mutex;

use super::*;

/// Hashes words into a unit vector and, like the embedding cache, remembers
/// what it has embedded: `network_encodings` counts only new sentences.
struct CountingEncoder {
    seen: Mutex<HashSet<String>>,
}

impl CountingEncoder {
    fn new() -> CountingEncoder {
        CountingEncoder {
            seen: Mutex::new(HashSet::new()),
        }
    }
}

const DIMENSION: usize = 24;

impl SentenceEncoder for CountingEncoder {
    fn id(&self) -> &str {
        "counting-test"
    }

    fn dimension(&self) -> usize {
        DIMENSION
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NluError> {
        let mut seen = self.seen.lock().unwrap();
        Ok(texts
            .iter()
            .map(|text| {
                seen.insert(text.to_string());
                let mut vector = [0f32; DIMENSION];
                for word in text.split_whitespace() {
                    let hash = word
                        .bytes()
                        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
                    vector[hash as usize % DIMENSION] += 1.0;
                }
                let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                vector.iter().map(|x| x / norm).collect()
            })
            .collect())
    }

    fn network_encodings(&self) -> Option<usize> {
        Some(self.seen.lock().unwrap().len())
    }
}

/// `classes` intents, each with its own two words, in `per_class` sentences.
fn data(classes: usize, per_class: usize) -> TrainingData {
    let mut data = TrainingData::default();
    let filler = [
        "please",
        "now",
        "could you",
        "the",
        "quickly",
        "for me",
        "again",
    ];
    for c in 0..classes {
        for i in 0..per_class {
            data.push(
                &format!(
                    "{} verb{c} object{c} {} item{}",
                    filler[i % filler.len()],
                    filler[(i / filler.len()) % filler.len()],
                    i
                ),
                &format!("intent_{c:02}"),
            );
        }
    }
    data
}

fn train_with(
    data: &TrainingData,
    encoder: &CountingEncoder,
    config: &NluConfig,
    previous: Option<&IntentModel>,
) -> IntentModel {
    train(
        data,
        &EntityExtractor::empty(),
        config,
        "test",
        TrainOptions {
            encoder: Some(encoder),
            validation: None,
            previous,
        },
        |_| {},
    )
    .unwrap()
}

fn accuracy(model: &IntentModel, data: &TrainingData, encoder: &CountingEncoder) -> f64 {
    let reads =
        crate::evaluate::predict(model, data, &EntityExtractor::empty(), Some(encoder)).unwrap();
    let right = reads
        .iter()
        .zip(&data.labels)
        .filter(|(r, l)| &r.best_in_scope == *l)
        .count();
    right as f64 / data.len() as f64
}

#[test]
fn small_data_is_calibrated_on_every_example_out_of_fold() {
    let data = data(6, 8);
    let encoder = CountingEncoder::new();
    let model = train_with(&data, &encoder, &NluConfig::default(), None);
    let metrics = &model.meta.metrics;
    assert_eq!(metrics.method, "5-fold cross-validation");
    assert_eq!(metrics.validation_examples, data.len());
    assert_eq!(metrics.encoded, data.len());
    assert!(accuracy(&model, &data, &encoder) > 0.95);
    // The one-hold-out configuration holds out a tenth instead.
    let before = train_with(&data, &encoder, &NluConfig::single_hold_out(), None);
    assert_eq!(before.meta.metrics.method, "hold-out");
    assert!(before.meta.metrics.validation_examples < data.len() / 5);
    assert_eq!(before.meta.metrics.encoded, 0, "all from the cache");
}

#[test]
fn a_small_edit_of_a_large_project_starts_from_the_previous_weights() {
    let mut data = data(20, 110);
    let encoder = CountingEncoder::new();
    let config = NluConfig::default();
    let cold = train_with(&data, &encoder, &config, None);
    assert_eq!(cold.meta.metrics.method, "5-fold cross-validation");
    let cold_accuracy = accuracy(&cold, &data, &encoder);
    assert!(cold_accuracy > 0.95, "{cold_accuracy}");

    data.push("kindly verb3 object3 one more time", "intent_03");
    let warm = train_with(&data, &encoder, &config, Some(&cold));
    let metrics = &warm.meta.metrics;
    assert!(
        metrics.method.starts_with("warm start from the model of"),
        "{}",
        metrics.method
    );
    assert_eq!(metrics.encoded, 1);
    assert_eq!(metrics.new_since_full_training, 1);
    // The epochs beside the kept readings are the full training's (the
    // summary once said "best epoch 12 of 2"), the warm ones in the method.
    assert_eq!(
        (metrics.best_epoch, metrics.epochs_run),
        (cold.meta.metrics.best_epoch, cold.meta.metrics.epochs_run)
    );
    assert!(metrics.best_epoch <= metrics.epochs_run);
    assert!(
        metrics
            .method
            .contains(&format!("{} gentle epochs", config.warm_epochs)),
        "{}",
        metrics.method
    );
    assert_eq!(
        warm.meta.calibration, cold.meta.calibration,
        "calibration kept"
    );
    assert!(accuracy(&warm, &data, &encoder) >= cold_accuracy - 0.01);
    let mut new = TrainingData::default();
    new.push("kindly verb3 object3 one more time", "intent_03");
    assert_eq!(accuracy(&warm, &new, &encoder), 1.0);

    // Edits add up: past 1 % new since the last full training, it trains in full.
    for i in 0..30 {
        data.push(&format!("verb5 object5 variant number {i}"), "intent_05");
    }
    let full = train_with(&data, &encoder, &config, Some(&warm));
    assert_eq!(full.meta.metrics.method, "5-fold cross-validation");
    assert_eq!(full.meta.metrics.new_since_full_training, 0);

    // Another configuration, or another set of intents: no warm start either.
    let other = NluConfig {
        threshold_target: opsbot_spec::ThresholdTarget::RefuseRightAtMost(0.05),
        ..NluConfig::default()
    };
    data.push("verb5 object5 yet another", "intent_05");
    let model = train_with(&data, &encoder, &other, Some(&full));
    assert_eq!(model.meta.metrics.method, "5-fold cross-validation");
    data.push("a brand new intent sentence", "intent_99");
    let model = train_with(&data, &encoder, &config, Some(&full));
    assert_eq!(model.meta.metrics.method, "5-fold cross-validation");
}
