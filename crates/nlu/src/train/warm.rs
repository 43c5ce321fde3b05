//! Retraining after a small edit of a large project: instead of training from
//! zero with cross-validation or a hold-out, start from the previous model's
//! weights (matched by n-gram and by embedding component) and take a few gentle
//! epochs over all the data; the previous calibration is kept. Only when the
//! classes, the configuration and the encoder are unchanged, and the examples
//! new since the last full training are a small share of them — so the kept
//! calibration still describes the model.

use super::fit::Fit;
use super::TrainProgress;
use crate::classifier::SoftmaxRegression;
use crate::model::{IntentModel, NluConfig};

/// Whether a warm start may replace full training. `new_sentences`: sentences
/// the encoder had to embed (None: unknown, so no).
pub(super) fn applies(
    previous: &IntentModel,
    examples: usize,
    classes: &[String],
    config: &NluConfig,
    encoder: Option<&str>,
    new_sentences: Option<usize>,
) -> bool {
    let Some(new) = new_sentences else {
        return false;
    };
    let since_full = previous.meta.metrics.new_since_full_training + new;
    previous.meta.config == *config
        && previous.classes == classes
        && previous.meta.encoder.as_deref() == encoder
        && examples >= config.warm_start_from
        && (since_full as f64) <= examples as f64 * f64::from(config.warm_start_max_share)
}

/// The classifier, started from `previous` and trained a few gentle epochs.
pub(super) fn retrain(
    fit: &Fit<'_>,
    previous: &IntentModel,
    progress: &mut impl FnMut(TrainProgress),
) -> SoftmaxRegression {
    let (mut model, _) = fit.start();
    // New feature index → the same feature's index in the previous model.
    let mut old_index: Vec<Option<usize>> = vec![None; fit.featurizer.dimension()];
    for (feature, index) in fit.featurizer.vocabulary() {
        old_index[index as usize] = previous.featurizer.index_of(feature).map(|i| i as usize);
    }
    let dense = fit.dense.as_ref().map(|d| d.offset as usize);
    let old_dense = previous.dense.as_ref().map(|d| d.offset as usize);
    model.copy_from(&previous.classifier, |j| match (dense, old_dense) {
        (Some(offset), Some(old)) if j >= offset => Some(old + (j - offset)),
        _ => old_index.get(j).copied().flatten(),
    });
    let config = fit.config;
    let mut trainer = fit.gentle_trainer(&model, config.warm_learning_rate);
    for epoch in 1..=config.warm_epochs.max(1) {
        fit.epoch(&mut model, &mut trainer);
        progress(TrainProgress::Epoch {
            done: epoch,
            total: config.warm_epochs.max(1),
        });
    }
    model
}
