//! One training run's featurised examples: the sparse featuriser fitted on them,
//! where the sentence embedding goes, the class prototypes and the labelled
//! examples for the nearest-example head, and epochs of the
//! linear classifier with early stopping on held-out readings.

use std::collections::HashMap;

use opsbot_spec::EntityMatch;

use super::TrainProgress;
use crate::classifier::{SoftmaxRegression, Trainer};
use crate::extract::EntityExtractor;
use crate::features::{SparseFeaturizer, SparseVec};
use crate::model::{DenseFeatures, NluConfig};
use crate::neighbours::Neighbours;
use crate::prototype::Prototypes;
use crate::train::calibrate::Reading;
use crate::train::TrainingData;

/// Featurised training examples and what is needed to turn texts into inputs.
pub(super) struct Fit<'a> {
    pub featurizer: SparseFeaturizer,
    pub dense: Option<DenseFeatures>,
    pub prototypes: Option<Prototypes>,
    pub neighbours: Option<Neighbours>,
    pub classes: &'a [String],
    extractor: &'a EntityExtractor,
    embeddings: Option<&'a HashMap<String, Vec<f32>>>,
    inputs: Vec<SparseVec>,
    labels: Vec<usize>,
    pub config: &'a NluConfig,
}

/// One held-out example: its input, its embedding and its class index.
pub(super) struct Example {
    input: SparseVec,
    embedding: Option<Vec<f32>>,
    pub label: usize,
}

impl<'a> Fit<'a> {
    pub fn new(
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
        let dimension = embeddings.and_then(|map| map.values().next()).map(Vec::len);
        let dense = dimension.map(|dimension| DenseFeatures {
            dimension,
            offset: featurizer.dimension() as u32,
            weight: config.dense_weight,
        });
        let labels: Vec<usize> = data
            .labels
            .iter()
            .map(|l| classes.binary_search(l).expect("label among classes"))
            .collect();
        let (prototypes, neighbours) = match (embeddings, dimension) {
            (Some(map), Some(dimension)) => {
                let labelled = || {
                    data.texts
                        .iter()
                        .zip(&labels)
                        .filter_map(|(t, &l)| map.get(t).map(|e| (e.as_slice(), l)))
                };
                let neighbours = config
                    .neighbour_weights
                    .iter()
                    .any(|&w| w != 0.0)
                    .then(|| Neighbours::fit(classes.len(), dimension, labelled()));
                (
                    Some(Prototypes::fit(classes.len(), dimension, labelled())),
                    neighbours,
                )
            }
            _ => (None, None),
        };
        let mut fit = Fit {
            featurizer,
            dense,
            prototypes,
            neighbours,
            classes,
            extractor,
            embeddings,
            inputs: Vec::new(),
            labels,
            config,
        };
        fit.inputs = data
            .texts
            .iter()
            .zip(&entities)
            .map(|(t, e)| fit.input(t, e))
            .collect();
        fit
    }

    fn input(&self, text: &str, entities: &[EntityMatch]) -> SparseVec {
        let mut input = self.featurizer.transform(text, entities);
        if let (Some(dense), Some(embedding)) = (&self.dense, self.embedding(text)) {
            input.extend(
                embedding
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (dense.offset + i as u32, v * dense.weight)),
            );
        }
        input
    }

    fn embedding(&self, text: &str) -> Option<&'a Vec<f32>> {
        self.embeddings.and_then(|map| map.get(text))
    }

    fn dimension(&self) -> usize {
        self.featurizer.dimension() + self.dense.as_ref().map_or(0, |d| d.dimension)
    }

    /// Held-out examples whose class is known to the model.
    pub fn examples(&self, data: &TrainingData) -> Vec<Example> {
        data.texts
            .iter()
            .zip(&data.labels)
            .filter_map(|(text, label)| {
                let label = self.classes.binary_search(label).ok()?;
                Some(Example {
                    input: self.input(text, &self.extractor.extract(text)),
                    embedding: self.embedding(text).cloned(),
                    label,
                })
            })
            .collect()
    }

    /// A fresh classifier and its optimiser for this fit.
    pub fn start(&self) -> (SoftmaxRegression, Trainer) {
        let model = SoftmaxRegression::new(self.classes.len(), self.dimension());
        let trainer = Trainer::new(&model, &self.labels, &self.config.train);
        (model, trainer)
    }

    /// An optimiser taking `scale` of the usual steps, for a warm start.
    pub fn gentle_trainer(&self, model: &SoftmaxRegression, scale: f32) -> Trainer {
        Trainer::gentle(model, &self.labels, &self.config.train, scale)
    }

    pub fn epoch(&self, model: &mut SoftmaxRegression, trainer: &mut Trainer) {
        trainer.epoch(model, &self.inputs, &self.labels);
    }

    /// How this fit reads a held-out example: logits, prototype similarities
    /// and nearest-example similarities.
    pub fn read(&self, model: &SoftmaxRegression, example: &Example) -> Reading {
        let similarities = (self.prototypes.as_ref())
            .and_then(|p| self.per_class(example, |e, out| p.similarities_into(e, out)));
        let nearest = (self.neighbours.as_ref())
            .and_then(|n| self.per_class(example, |e, out| n.similarities_into(e, out)));
        Reading {
            logits: logits(model, &example.input),
            similarities,
            nearest,
            label: example.label,
        }
    }

    /// One head's similarities (one per class) for an example with an embedding.
    fn per_class(
        &self,
        example: &Example,
        similarities_into: impl Fn(&[f32], &mut [f32]),
    ) -> Option<Vec<f32>> {
        let embedding = example.embedding.as_deref()?;
        let mut out = vec![0.0; self.classes.len()];
        similarities_into(embedding, &mut out);
        Some(out)
    }

    /// Trains with early stopping on `held` (or for `epochs` exactly). Returns
    /// the classifier, the epoch kept and the epochs run.
    pub fn run(
        &self,
        held: &[Example],
        epochs: Option<usize>,
        progress: &mut impl FnMut(TrainProgress),
    ) -> (SoftmaxRegression, usize, usize) {
        let config = self.config;
        let max_epochs = epochs.unwrap_or(config.train.epochs).max(1);
        let (mut model, mut trainer) = self.start();
        let mut best: Option<(usize, usize, SoftmaxRegression)> = None;
        let mut epochs_run = 0;
        for epoch in 1..=max_epochs {
            self.epoch(&mut model, &mut trainer);
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
            let right = held.iter().filter(|e| is_right(&model, e)).count();
            tracing::debug!(epoch, held_out_right = right, "epoch");
            match &best {
                Some((best_right, best_epoch, _)) if right <= *best_right => {
                    if epoch - best_epoch >= config.patience {
                        break;
                    }
                }
                _ => best = Some((right, epoch, model.clone())),
            }
        }
        match best {
            Some((_, epoch, model)) => (model, epoch, epochs_run),
            None => (model, epochs_run, epochs_run),
        }
    }
}

pub(super) fn logits(model: &SoftmaxRegression, input: &SparseVec) -> Vec<f32> {
    let mut out = vec![0.0; model.classes];
    model.logits_into(input, &mut out);
    out
}

/// Whether the classifier's likeliest class for a held-out example is its label.
pub(super) fn is_right(model: &SoftmaxRegression, example: &Example) -> bool {
    argmax(&logits(model, &example.input)) == Some(example.label)
}

pub(super) fn argmax(values: &[f32]) -> Option<usize> {
    values
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i)
}
