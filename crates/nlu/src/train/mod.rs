//! Training the intent model from labelled texts: sparse n-gram features and the
//! sentence encoder's embedding, softmax regression with early stopping, a
//! nearest-prototype head, then temperature and an out-of-scope threshold —
//! all chosen on readings of examples the model did not train on: out-of-fold
//! readings by cross-validation ([`cross`]) when a hold-out would be small, a
//! stratified hold-out on large data, or the validation data given.

mod calibrate;
mod cross;
mod fit;
mod warm;

use std::collections::HashMap;
use std::time::Instant;

use opsbot_spec::{Project, OUT_OF_SCOPE};

use crate::classifier::SoftmaxRegression;
use crate::extract::EntityExtractor;
use crate::folds::stratified_folds;
use crate::model::{
    IntentModel, ModelMeta, NluConfig, TrainMetrics, MODEL_FORMAT, MODEL_FORMAT_VERSION,
};
use crate::text::mask_bot_name;
use crate::{NluError, SentenceEncoder};
use calibrate::{calibrate, Calibrated, HeadWeights};
use fit::Fit;

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
    /// The model trained last time: after a small edit of a large project,
    /// training starts from its weights and keeps its calibration.
    pub previous: Option<&'a IntentModel>,
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
    let (embeddings, embedded, encoded, counted) = match options.encoder {
        Some(encoder) => {
            let mut texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
            if let Some(validation) = options.validation {
                texts.extend(validation.texts.iter().map(String::as_str));
            }
            texts.sort_unstable();
            texts.dedup();
            let before = encoder.network_encodings();
            let map = encode_all(encoder, &texts, &mut progress)?;
            let counted = match (before, encoder.network_encodings()) {
                (Some(before), Some(after)) => Some(after - before),
                _ => None,
            };
            (
                Some(map),
                texts.len(),
                counted.unwrap_or(texts.len()),
                counted,
            )
        }
        None => (None, 0, 0, None),
    };
    let embeddings = embeddings.as_ref();
    let calibrate_on = |readings: &[calibrate::Reading], method: &str| {
        calibrate(
            readings,
            &classes,
            (&config.prototype_weights, &config.neighbour_weights),
            config.threshold_target,
            method,
        )
    };
    let fit_all = || Fit::new(data, &classes, extractor, config, embeddings);

    let encoder_id = options.encoder.map(|e| e.id().to_string());
    let warm = options.previous.filter(|previous| {
        options.validation.is_none()
            && warm::applies(
                previous,
                data.len(),
                &classes,
                config,
                encoder_id.as_deref(),
                counted,
            )
    });
    let mut new_since_full_training = 0;
    let (fit, classifier, mut calibrated, best_epoch, epochs_run) = if let Some(previous) = warm {
        let fit = fit_all();
        let classifier = warm::retrain(&fit, previous, &mut progress);
        let metrics = &previous.meta.metrics;
        new_since_full_training = metrics.new_since_full_training + encoded;
        let calibrated = Calibrated {
            calibration: previous.meta.calibration.clone(),
            heads: HeadWeights {
                prototype: previous.prototypes.as_ref().map_or(0.0, |p| p.weight),
                neighbour: previous.neighbours.as_ref().map_or(0.0, |n| n.weight),
            },
            metrics: TrainMetrics {
                // The readings, and so the epochs named beside them, are
                // the last full training's; the warm epochs are said here.
                method: format!(
                    "warm start from the model of {} with {} gentle epochs on all the data, its calibration and readings kept",
                    previous.meta.trained_at,
                    config.warm_epochs.max(1)
                ),
                ..metrics.clone()
            },
        };
        (
            fit,
            classifier,
            calibrated,
            metrics.best_epoch,
            metrics.epochs_run,
        )
    } else if let Some(validation) = options.validation {
        let fit = fit_all();
        let held = fit.examples(validation);
        let (classifier, best_epoch, epochs_run) = fit.run(&held, None, &mut progress);
        let readings: Vec<_> = held.iter().map(|e| fit.read(&classifier, e)).collect();
        let calibrated = calibrate_on(&readings, "validation");
        (fit, classifier, calibrated, best_epoch, epochs_run)
    } else if cross_validates(data, config) {
        let cv = cross::cross_validate_epochs(
            data,
            &classes,
            extractor,
            config,
            embeddings,
            &mut progress,
        );
        let method = format!("{}-fold cross-validation", config.cross_validation_folds);
        let calibrated = calibrate_on(&cv.readings, &method);
        let fit = fit_all();
        let (classifier, ..) = fit.run(&[], Some(cv.best_epoch), &mut |_| {});
        (fit, classifier, calibrated, cv.best_epoch, cv.epochs_run)
    } else {
        let (train_idx, held_idx) = hold_out(data, config);
        if held_idx.is_empty() {
            let fit = fit_all();
            let (classifier, best_epoch, epochs_run) = fit.run(&[], None, &mut progress);
            let calibrated = calibrate_on(&[], "none");
            (fit, classifier, calibrated, best_epoch, epochs_run)
        } else {
            let part = Fit::new(
                &data.subset(&train_idx),
                &classes,
                extractor,
                config,
                embeddings,
            );
            let held = part.examples(&data.subset(&held_idx));
            let (classifier, best_epoch, epochs_run) = part.run(&held, None, &mut progress);
            let readings: Vec<_> = held.iter().map(|e| part.read(&classifier, e)).collect();
            let calibrated = calibrate_on(&readings, "hold-out");
            drop(part);
            // The held-out examples are too valuable to leave out of the final
            // model: refit on everything for the epochs that were best held out.
            let fit = fit_all();
            let (classifier, ..) = fit.run(&[], Some(best_epoch), &mut |_| {});
            (fit, classifier, calibrated, best_epoch, epochs_run)
        }
    };
    calibrated.metrics.best_epoch = best_epoch;
    calibrated.metrics.epochs_run = epochs_run;
    calibrated.metrics.encoded = encoded;
    calibrated.metrics.embedded = embedded;
    calibrated.metrics.new_since_full_training = new_since_full_training;
    let info = ModelInfo {
        encoder: encoder_id,
        training_hash,
        examples: data.len(),
        started,
    };
    Ok(into_model(fit, classifier, calibrated, info))
}

/// Whether a hold-out would be too small to trust, so cross-validation decides.
fn cross_validates(data: &TrainingData, config: &NluConfig) -> bool {
    let folds = config.cross_validation_folds;
    let held = data.len() as f32 * config.validation_share.clamp(0.02, 0.5);
    folds >= 2 && data.len() >= 2 * folds && held < config.cross_validate_below as f32
}

struct ModelInfo<'a> {
    encoder: Option<String>,
    training_hash: &'a str,
    examples: usize,
    started: Instant,
}

fn into_model(
    fit: Fit<'_>,
    classifier: SoftmaxRegression,
    calibrated: Calibrated,
    info: ModelInfo<'_>,
) -> IntentModel {
    let Calibrated {
        calibration,
        heads,
        metrics,
    } = calibrated;
    let config = fit.config.clone();
    let intents = fit.classes.iter().filter(|c| *c != OUT_OF_SCOPE).count();
    let prototypes = fit.prototypes.and_then(|mut p| {
        p.weight = heads.prototype;
        (heads.prototype != 0.0).then_some(p)
    });
    // Kept only when weighted: the examples' embeddings are the largest
    // part of a model that has them.
    let neighbours = fit.neighbours.and_then(|mut n| {
        n.weight = heads.neighbour;
        (heads.neighbour != 0.0).then_some(n)
    });
    IntentModel {
        meta: ModelMeta {
            format: MODEL_FORMAT.into(),
            format_version: MODEL_FORMAT_VERSION,
            opsbot_version: env!("CARGO_PKG_VERSION").into(),
            training_hash: info.training_hash.into(),
            trained_at: chrono::Utc::now().to_rfc3339(),
            examples: info.examples,
            intents,
            training_seconds: info.started.elapsed().as_secs_f64(),
            encoder: info.encoder,
            encoder_dir: None,
            config,
            calibration,
            metrics,
        },
        classes: fit.classes.to_vec(),
        featurizer: fit.featurizer,
        dense: fit.dense,
        classifier,
        prototypes,
        neighbours,
    }
}

fn encode_all(
    encoder: &dyn SentenceEncoder,
    texts: &[&str],
    progress: &mut impl FnMut(TrainProgress),
) -> Result<HashMap<String, Vec<f32>>, NluError> {
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
    Ok(map)
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

#[cfg(test)]
mod tests;
