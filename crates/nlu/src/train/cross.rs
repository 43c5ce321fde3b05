//! Cross-validated early stopping: k models, one per fold, trained an epoch at a
//! time side by side; training stops when their out-of-fold accuracy, summed over
//! every example, stops improving. The readings at the best epoch calibrate the
//! final model — every example is held out once, instead of a tenth of them once,
//! which is what makes calibration on a few examples per intent trustworthy.

use std::collections::HashMap;

use super::calibrate::Reading;
use super::fit::{is_right, Example, Fit};
use super::{TrainProgress, TrainingData};
use crate::classifier::{SoftmaxRegression, Trainer};
use crate::extract::EntityExtractor;
use crate::folds::stratified_folds;
use crate::model::NluConfig;

/// What cross-validation found.
pub(super) struct CrossValidated {
    /// Epochs with the most out-of-fold examples read right.
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// Every example, read by the fold model that did not train on it, at the best epoch.
    pub readings: Vec<Reading>,
}

struct FoldRun<'a> {
    fit: Fit<'a>,
    held: Vec<Example>,
    model: SoftmaxRegression,
    trainer: Trainer,
}

pub(super) fn cross_validate_epochs(
    data: &TrainingData,
    classes: &[String],
    extractor: &EntityExtractor,
    config: &NluConfig,
    embeddings: Option<&HashMap<String, Vec<f32>>>,
    progress: &mut impl FnMut(TrainProgress),
) -> CrossValidated {
    let split = stratified_folds(
        &data.labels,
        config.cross_validation_folds,
        config.train.seed,
    );
    let mut runs: Vec<FoldRun<'_>> = split
        .iter()
        .map(|held_idx| {
            let mut in_fold = vec![false; data.len()];
            held_idx.iter().for_each(|&i| in_fold[i] = true);
            let train_idx: Vec<usize> = (0..data.len()).filter(|&i| !in_fold[i]).collect();
            let fit = Fit::new(
                &data.subset(&train_idx),
                classes,
                extractor,
                config,
                embeddings,
            );
            let held = fit.examples(&data.subset(held_idx));
            let (model, trainer) = fit.start();
            FoldRun {
                fit,
                held,
                model,
                trainer,
            }
        })
        .collect();
    let max_epochs = config.train.epochs.max(1);
    let mut best: Option<(usize, usize)> = None;
    let mut readings = Vec::new();
    let mut epochs_run = 0;
    for epoch in 1..=max_epochs {
        // The folds are independent: one thread each (deterministic all the same).
        let right: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = runs
                .iter_mut()
                .map(|run| {
                    scope.spawn(move || {
                        run.fit.epoch(&mut run.model, &mut run.trainer);
                        run.held.iter().filter(|e| is_right(&run.model, e)).count()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a fold's epoch"))
                .sum()
        });
        epochs_run = epoch;
        progress(TrainProgress::Epoch {
            done: epoch,
            total: max_epochs,
        });
        tracing::debug!(epoch, out_of_fold_right = right, "epoch");
        match best {
            Some((best_right, best_epoch)) if right <= best_right => {
                if epoch - best_epoch >= config.patience {
                    break;
                }
            }
            _ => {
                best = Some((right, epoch));
                readings = runs
                    .iter()
                    .flat_map(|run| run.held.iter().map(|e| run.fit.read(&run.model, e)))
                    .collect();
            }
        }
    }
    CrossValidated {
        best_epoch: best.map_or(epochs_run, |b| b.1),
        epochs_run,
        readings,
    }
}
