//! Training the intent model from labelled texts: sparse n-gram features and the
//! sentence encoder's embedding, softmax regression with early stopping on
//! held-out data, then temperature calibration and an out-of-scope threshold
//! fitted on the same held-out data.

use std::collections::HashMap;
use std::time::Instant;

use opsbot_spec::{EntityMatch, Project, OUT_OF_SCOPE};

use crate::classifier::{softmax_in_place, SoftmaxRegression, Trainer};
use crate::extract::EntityExtractor;
use crate::features::{SparseFeaturizer, SparseVec};
use crate::folds::stratified_folds;
use crate::model::{
    rank_classes, Calibration, DenseFeatures, IntentModel, ModelMeta, NluConfig, TrainMetrics,
    MODEL_FORMAT, MODEL_FORMAT_VERSION,
};
use crate::text::mask_bot_name;
use crate::{NluError, SentenceEncoder};

/// Texts with their intent labels; out-of-scope examples carry [`OUT_OF_SCOPE`].
#[derive(Debug, Clone, Default)]
pub struct TrainingData {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
}

impl TrainingData {
    pub fn from_project(project: &Project) -> TrainingData {
        let mut data = TrainingData::default();
        let name = &project.settings.name;
        for intent in project.intents.values() {
            for example in &intent.examples {
                data.push(&mask_bot_name(&example.text, name), &intent.name);
            }
        }
        for example in &project.out_of_scope {
            data.push(&mask_bot_name(&example.text, name), OUT_OF_SCOPE);
        }
        data
    }

    pub fn push(&mut self, text: &str, label: &str) {
        self.texts.push(text.to_string());
        self.labels.push(label.to_string());
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Distinct labels, sorted.
    pub fn classes(&self) -> Vec<String> {
        let mut classes = self.labels.clone();
        classes.sort();
        classes.dedup();
        classes
    }

    pub fn subset(&self, indices: &[usize]) -> TrainingData {
        TrainingData {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i].clone()).collect(),
        }
    }
}

/// Progress of a training run, for progress bars.
#[derive(Debug, Clone, Copy)]
pub enum TrainProgress {
    Encoding {
        done: usize,
        total: usize,
    },
    /// `total` is the most epochs training may run; early stopping ends sooner.
    Epoch {
        done: usize,
        total: usize,
    },
}

/// What training may use besides the examples.
#[derive(Default, Clone, Copy)]
pub struct TrainOptions<'a> {
    /// Adds sentence embeddings to the features.
    pub encoder: Option<&'a dyn SentenceEncoder>,
    /// Held-out data for early stopping and calibration. Without it a stratified
    /// share of the examples is held out, and the final model is refitted on all.
    pub validation: Option<&'a TrainingData>,
}

/// Sentences encoded per progress step.
const ENCODE_CHUNK: usize = 256;
/// Classes with fewer examples hold none out (they need them all to be learned).
const MIN_PER_CLASS_TO_HOLD_OUT: usize = 5;

/// Trains a model; `training_hash` identifies the data it came from.
pub fn train(
    data: &TrainingData,
    extractor: &EntityExtractor,
    config: &NluConfig,
    training_hash: &str,
    options: TrainOptions<'_>,
    mut progress: impl FnMut(TrainProgress),
) -> Result<IntentModel, NluError> {
    let started = Instant::now();
    let classes = data.classes();
    let (embeddings, encoded) = match options.encoder {
        Some(encoder) => {
            let mut texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
            if let Some(validation) = options.validation {
                texts.extend(validation.texts.iter().map(String::as_str));
            }
            texts.sort_unstable();
            texts.dedup();
            let (map, encoded) = encode_all(encoder, &texts, &mut progress)?;
            (Some(map), encoded)
        }
        None => (None, 0),
    };
    let embeddings = embeddings.as_ref();
    let encoder_id = options.encoder.map(|e| e.id().to_string());

    let fit_all = || Fit::new(data, &classes, extractor, config, embeddings);
    let finish = |fit: Fit, classifier, metrics, calibration| {
        fit.into_model(
            classifier,
            metrics,
            calibration,
            encoder_id.clone(),
            training_hash,
            data.len(),
            started,
            encoded,
        )
    };
    if let Some(validation) = options.validation {
        let fit = fit_all();
        let held = fit.examples(validation);
        let (classifier, _, metrics, calibration) = fit.run(&held, None, &mut progress);
        return Ok(finish(fit, classifier, metrics, calibration));
    }
    let (train_idx, held_idx) = hold_out(data, config);
    if held_idx.is_empty() {
        let fit = fit_all();
        let (classifier, _, metrics, calibration) = fit.run(&[], None, &mut progress);
        return Ok(finish(fit, classifier, metrics, calibration));
    }
    let part = Fit::new(
        &data.subset(&train_idx),
        &classes,
        extractor,
        config,
        embeddings,
    );
    let held = part.examples(&data.subset(&held_idx));
    let (_, best_epoch, metrics, calibration) = part.run(&held, None, &mut progress);
    drop(part);
    // The held-out examples are too valuable to leave out of the final model:
    // refit on everything for the number of epochs that was best held out.
    let fit = fit_all();
    let (classifier, ..) = fit.run(&[], Some(best_epoch), &mut |_| {});
    Ok(finish(fit, classifier, metrics, calibration))
}

fn encode_all(
    encoder: &dyn SentenceEncoder,
    texts: &[&str],
    progress: &mut impl FnMut(TrainProgress),
) -> Result<(HashMap<String, Vec<f32>>, usize), NluError> {
    let mut map = HashMap::with_capacity(texts.len());
    progress(TrainProgress::Encoding {
        done: 0,
        total: texts.len(),
    });
    for chunk in texts.chunks(ENCODE_CHUNK) {
        for (text, embedding) in chunk.iter().zip(encoder.encode(chunk)?) {
            if !crate::artifact::all_finite(&embedding) {
                return Err(NluError::Encoder(format!(
                    "the embedding of “{}” holds numbers that are not finite (a damaged embedding cache?); delete models/embedding-cache.bin and train again",
                    text.chars().take(60).collect::<String>()
                )));
            }
            map.insert(text.to_string(), embedding);
        }
        progress(TrainProgress::Encoding {
            done: map.len(),
            total: texts.len(),
        });
    }
    Ok((map, texts.len()))
}

/// Indices to train on and to hold out: a stratified share of each class that
/// has enough examples.
fn hold_out(data: &TrainingData, config: &NluConfig) -> (Vec<usize>, Vec<usize>) {
    let folds = (1.0 / config.validation_share.clamp(0.02, 0.5)).round() as usize;
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for l in &data.labels {
        *counts.entry(l).or_default() += 1;
    }
    let split = stratified_folds(&data.labels, folds.max(2), config.train.seed);
    let mut train = Vec::new();
    let mut held = Vec::new();
    for (k, fold) in split.iter().enumerate() {
        for &i in fold {
            if k == 0 && counts[data.labels[i].as_str()] >= MIN_PER_CLASS_TO_HOLD_OUT {
                held.push(i);
            } else {
                train.push(i);
            }
        }
    }
    train.sort_unstable();
    held.sort_unstable();
    (train, held)
}

/// Featurised training examples and what is needed to turn texts into inputs.
struct Fit<'a> {
    featurizer: SparseFeaturizer,
    dense: Option<DenseFeatures>,
    classes: &'a [String],
    extractor: &'a EntityExtractor,
    embeddings: Option<&'a HashMap<String, Vec<f32>>>,
    inputs: Vec<SparseVec>,
    labels: Vec<usize>,
    config: &'a NluConfig,
}

/// One held-out example: its input and its class index.
struct Example {
    input: SparseVec,
    label: usize,
}

impl<'a> Fit<'a> {
    fn new(
        data: &TrainingData,
        classes: &'a [String],
        extractor: &'a EntityExtractor,
        config: &'a NluConfig,
        embeddings: Option<&'a HashMap<String, Vec<f32>>>,
    ) -> Fit<'a> {
        let entities: Vec<Vec<EntityMatch>> =
            data.texts.iter().map(|t| extractor.extract(t)).collect();
        let featurizer = SparseFeaturizer::fit(
            config.sparse.clone(),
            data.texts
                .iter()
                .map(String::as_str)
                .zip(entities.iter().map(Vec::as_slice)),
        );
        let dense = embeddings
            .and_then(|map| map.values().next())
            .map(|e| DenseFeatures {
                dimension: e.len(),
                offset: featurizer.dimension() as u32,
                weight: config.dense_weight,
            });
        let mut fit = Fit {
            featurizer,
            dense,
            classes,
            extractor,
            embeddings,
            inputs: Vec::new(),
            labels: Vec::new(),
            config,
        };
        fit.inputs = data
            .texts
            .iter()
            .zip(&entities)
            .map(|(t, e)| fit.input(t, e))
            .collect();
        fit.labels = data
            .labels
            .iter()
            .map(|l| classes.binary_search(l).expect("label among classes"))
            .collect();
        fit
    }

    fn input(&self, text: &str, entities: &[EntityMatch]) -> SparseVec {
        let mut input = self.featurizer.transform(text, entities);
        if let (Some(dense), Some(map)) = (&self.dense, self.embeddings) {
            if let Some(embedding) = map.get(text) {
                input.extend(
                    embedding
                        .iter()
                        .enumerate()
                        .map(|(i, v)| (dense.offset + i as u32, v * dense.weight)),
                );
            }
        }
        input
    }

    fn dimension(&self) -> usize {
        self.featurizer.dimension() + self.dense.as_ref().map_or(0, |d| d.dimension)
    }

    /// Held-out examples whose class is known to the model.
    fn examples(&self, data: &TrainingData) -> Vec<Example> {
        data.texts
            .iter()
            .zip(&data.labels)
            .filter_map(|(text, label)| {
                let label = self.classes.binary_search(label).ok()?;
                Some(Example {
                    input: self.input(text, &self.extractor.extract(text)),
                    label,
                })
            })
            .collect()
    }

    /// Trains with early stopping on `held` (or for `epochs` exactly), then
    /// calibrates on `held`. Returns the classifier, the epoch kept, the held-out
    /// metrics and the calibration.
    fn run(
        &self,
        held: &[Example],
        epochs: Option<usize>,
        progress: &mut impl FnMut(TrainProgress),
    ) -> (SoftmaxRegression, usize, TrainMetrics, Calibration) {
        let config = self.config;
        let max_epochs = epochs.unwrap_or(config.train.epochs).max(1);
        let mut model = SoftmaxRegression::new(self.classes.len(), self.dimension());
        let mut trainer = Trainer::new(&model, &self.labels, &config.train);
        let mut best: Option<(f64, usize, SoftmaxRegression)> = None;
        let mut epochs_run = 0;
        for epoch in 1..=max_epochs {
            trainer.epoch(&mut model, &self.inputs, &self.labels);
            epochs_run = epoch;
            progress(TrainProgress::Epoch {
                done: epoch,
                total: max_epochs,
            });
            if held.is_empty() || epochs.is_some() {
                continue;
            }
            // Accuracy, not likelihood: the scores grow overconfident long before
            // they stop improving, and temperature calibration fixes confidence.
            let loss = -held_out_accuracy(&model, held);
            tracing::debug!(epoch, held_out_accuracy = -loss, "epoch");
            match &best {
                Some((best_loss, _, _)) if loss >= *best_loss => {
                    if epoch - best.as_ref().map_or(0, |b| b.1) >= config.patience {
                        break;
                    }
                }
                _ => best = Some((loss, epoch, model.clone())),
            }
        }
        let (model, best_epoch) = match best {
            Some((_, epoch, model)) => (model, epoch),
            None => (model, epochs_run),
        };
        let (calibration, mut metrics) = calibrate(&model, held, self.classes);
        metrics.best_epoch = best_epoch;
        metrics.epochs_run = epochs_run;
        (model, best_epoch, metrics, calibration)
    }

    #[allow(clippy::too_many_arguments)]
    fn into_model(
        self,
        classifier: SoftmaxRegression,
        mut metrics: TrainMetrics,
        calibration: Calibration,
        encoder: Option<String>,
        training_hash: &str,
        examples: usize,
        started: Instant,
        encoded: usize,
    ) -> IntentModel {
        metrics.encoded = encoded;
        let intents = self.classes.iter().filter(|c| *c != OUT_OF_SCOPE).count();
        IntentModel {
            meta: ModelMeta {
                format: MODEL_FORMAT.into(),
                format_version: MODEL_FORMAT_VERSION,
                opsbot_version: env!("CARGO_PKG_VERSION").into(),
                training_hash: training_hash.into(),
                trained_at: chrono::Utc::now().to_rfc3339(),
                examples,
                intents,
                training_seconds: started.elapsed().as_secs_f64(),
                encoder,
                encoder_dir: None,
                config: self.config.clone(),
                calibration,
                metrics,
            },
            classes: self.classes.to_vec(),
            featurizer: self.featurizer,
            dense: self.dense,
            classifier,
        }
    }
}

fn logits(model: &SoftmaxRegression, input: &SparseVec) -> Vec<f32> {
    let mut out = vec![0.0; model.classes];
    model.logits_into(input, &mut out);
    out
}

/// Share of held-out examples whose likeliest class is right.
fn held_out_accuracy(model: &SoftmaxRegression, held: &[Example]) -> f64 {
    let right = held
        .iter()
        .filter(|e| {
            let scores = logits(model, &e.input);
            let best = scores
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.total_cmp(b.1))
                .map(|(i, _)| i);
            best == Some(e.label)
        })
        .count();
    right as f64 / held.len().max(1) as f64
}

/// Mean negative log-likelihood of the held-out labels at `temperature`.
fn held_out_loss(model: &SoftmaxRegression, held: &[Example], temperature: f32) -> f64 {
    let total: f64 = held
        .iter()
        .map(|e| {
            let mut p = logits(model, &e.input);
            softmax_in_place(&mut p, temperature);
            -(p[e.label].max(1e-12) as f64).ln()
        })
        .sum();
    total / held.len().max(1) as f64
}

/// Temperature by held-out likelihood, then the out-of-scope threshold: with
/// out-of-scope examples held out, the one that maximises in-scope accuracy plus
/// out-of-scope recall; without, the lowest that still answers 98% of the
/// held-out examples the classifier gets right.
fn calibrate(
    model: &SoftmaxRegression,
    held: &[Example],
    classes: &[String],
) -> (Calibration, TrainMetrics) {
    if held.is_empty() {
        return (Calibration::default(), TrainMetrics::default());
    }
    let mut temperature = 1.0f32;
    let mut best_loss = f64::INFINITY;
    for step in 0..=60 {
        // 0.1 .. 10, log-spaced.
        let t = 10f32.powf(-1.0 + step as f32 / 30.0);
        let loss = held_out_loss(model, held, t);
        if loss < best_loss {
            best_loss = loss;
            temperature = t;
        }
    }
    let oos = classes.iter().position(|c| c == OUT_OF_SCOPE);
    let scored: Vec<(bool, usize, String, f32)> = held
        .iter()
        .map(|e| {
            let mut p = logits(model, &e.input);
            softmax_in_place(&mut p, temperature);
            let ranked = rank_classes(classes, &p);
            let best_in_scope = ranked
                .iter()
                .find(|(c, _)| c != OUT_OF_SCOPE)
                .cloned()
                .unwrap_or_default();
            let oos_first = ranked.first().is_some_and(|(c, _)| c == OUT_OF_SCOPE);
            (oos_first, e.label, best_in_scope.0, best_in_scope.1)
        })
        .collect();
    let in_scope = |label: usize| Some(label) != oos;
    let held_in = scored.iter().filter(|s| in_scope(s.1)).count();
    let held_oos = scored.len() - held_in;
    let rates = |threshold: f32| -> (f64, f64) {
        let mut right = 0;
        let mut caught = 0;
        for (oos_first, label, class, p) in &scored {
            let answered = !oos_first && *p >= threshold;
            if in_scope(*label) {
                if answered && classes[*label] == *class {
                    right += 1;
                }
            } else if !answered {
                caught += 1;
            }
        }
        (
            right as f64 / held_in.max(1) as f64,
            caught as f64 / held_oos.max(1) as f64,
        )
    };
    let candidates = (0..100).map(|i| i as f32 / 100.0);
    let (threshold, rule) = if held_oos > 0 {
        // Of the thresholds that score best, the middle one: the widest margin
        // on both sides (small held-out sets are often separable over a range).
        let objective: Vec<(f32, f64)> = candidates
            .map(|t| {
                let (acc, recall) = rates(t);
                (t, acc + recall)
            })
            .collect();
        let top = objective
            .iter()
            .map(|o| o.1)
            .fold(f64::NEG_INFINITY, f64::max);
        let tied: Vec<f32> = objective
            .iter()
            .filter(|o| o.1 >= top - 1e-9)
            .map(|o| o.0)
            .collect();
        let best = (tied[tied.len() / 2], top);
        (
            best.0,
            format!(
                "maximises in-scope accuracy + out-of-scope recall on {} held-out examples",
                scored.len()
            ),
        )
    } else {
        let mut correct: Vec<f32> = scored
            .iter()
            .filter(|s| !s.0 && classes[s.1] == s.2)
            .map(|s| s.3)
            .collect();
        correct.sort_by(f32::total_cmp);
        let t = correct
            .get(correct.len() / 50)
            .copied()
            .unwrap_or(0.5)
            .min(0.5);
        (
            (t * 100.0).floor() / 100.0,
            format!(
                "answers 98% of the {} held-out examples classified right",
                correct.len()
            ),
        )
    };
    let (in_scope_accuracy, recall) = rates(threshold);
    (
        Calibration {
            temperature,
            threshold,
            threshold_rule: rule,
        },
        TrainMetrics {
            validation_examples: scored.len(),
            in_scope_accuracy,
            out_of_scope_recall: (held_oos > 0).then_some(recall),
            ..TrainMetrics::default()
        },
    )
}
