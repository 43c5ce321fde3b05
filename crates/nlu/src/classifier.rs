//! Multinomial logistic regression (softmax regression) over sparse features,
//! trained with Adagrad and L2 regularisation, with balanced class weights.
//!
//! Training is deterministic for a given seed, so a retrain on unchanged data
//! gives the same model and cross-validation figures are reproducible.

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::features::SparseVec;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    pub l2: f32,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 40,
            learning_rate: 0.1,
            l2: 1e-4,
            seed: 42,
        }
    }
}

/// Weights are stored feature-major (`weights[feature * classes + class]`) so one
/// sparse feature touches one contiguous row.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoftmaxRegression {
    pub classes: usize,
    pub features: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl SoftmaxRegression {
    pub fn new(classes: usize, features: usize) -> SoftmaxRegression {
        SoftmaxRegression {
            classes,
            features,
            weights: vec![0.0; features * classes],
            bias: vec![0.0; classes],
        }
    }

    /// Trains for `config.epochs` epochs; `on_epoch` is called after each epoch
    /// with its number (for progress bars).
    pub fn train(
        inputs: &[SparseVec],
        labels: &[usize],
        classes: usize,
        features: usize,
        config: &TrainConfig,
        mut on_epoch: impl FnMut(usize),
    ) -> SoftmaxRegression {
        let mut model = SoftmaxRegression::new(classes, features);
        let mut trainer = Trainer::new(&model, labels, config);
        for epoch in 0..config.epochs {
            trainer.epoch(&mut model, inputs, labels);
            on_epoch(epoch + 1);
        }
        model
    }

    /// Copies the weights of `other` where `feature_of(new feature)` names the
    /// same feature there, and its biases (the classes must agree): the start
    /// of a warm retrain.
    pub fn copy_from(
        &mut self,
        other: &SoftmaxRegression,
        feature_of: impl Fn(usize) -> Option<usize>,
    ) {
        debug_assert_eq!(self.classes, other.classes);
        let classes = self.classes;
        self.bias.copy_from_slice(&other.bias);
        for j in 0..self.features {
            if let Some(old) = feature_of(j).filter(|&o| o < other.features) {
                self.weights[j * classes..(j + 1) * classes]
                    .copy_from_slice(&other.weights[old * classes..(old + 1) * classes]);
            }
        }
    }

    /// Class probabilities for one input.
    pub fn probabilities(&self, input: &SparseVec) -> Vec<f32> {
        let mut out = vec![0.0; self.classes];
        self.probabilities_into(input, &mut out);
        out
    }

    /// Raw scores (before softmax) for one input.
    pub fn logits_into(&self, input: &SparseVec, out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        for &(j, x) in input {
            let j = j as usize;
            if j >= self.features {
                continue;
            }
            let row = &self.weights[j * self.classes..(j + 1) * self.classes];
            for (o, w) in out.iter_mut().zip(row) {
                *o += w * x;
            }
        }
    }

    /// Whether the weights have the shape `classes × features` and are finite.
    pub fn check_shape(&self) -> Result<(), String> {
        let expected = self.features.checked_mul(self.classes);
        if expected != Some(self.weights.len()) || self.bias.len() != self.classes {
            return Err(format!(
                "its classifier holds {} weights and {} biases for {} classes × {} features",
                self.weights.len(),
                self.bias.len(),
                self.classes,
                self.features
            ));
        }
        if !crate::artifact::all_finite(&self.weights) || !crate::artifact::all_finite(&self.bias) {
            return Err("its classifier holds weights that are not finite numbers".into());
        }
        Ok(())
    }

    fn probabilities_into(&self, input: &SparseVec, out: &mut [f32]) {
        self.logits_into(input, out);
        softmax_in_place(out, 1.0);
    }
}

/// Softmax of `logits / temperature`, in place.
pub fn softmax_in_place(out: &mut [f32], temperature: f32) {
    {
        for o in out.iter_mut() {
            *o /= temperature;
        }
        let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for o in out.iter_mut() {
            *o = (*o - max).exp();
            total += *o;
        }
        for o in out.iter_mut() {
            *o /= total;
        }
    }
}

/// Adagrad state of one training run: an epoch at a time, so the caller can
/// stop early when held-out accuracy stops improving.
pub struct Trainer {
    weight_sq: Vec<f32>,
    bias_sq: Vec<f32>,
    class_weight: Vec<f32>,
    order: Vec<usize>,
    rng: SmallRng,
    learning_rate: f32,
    l2: f32,
}

impl Trainer {
    /// A trainer that takes smaller steps (`scale` of the learning rate): for
    /// weights that start from a trained model rather than from zero.
    pub fn gentle(
        model: &SoftmaxRegression,
        labels: &[usize],
        config: &TrainConfig,
        scale: f32,
    ) -> Trainer {
        let mut trainer = Trainer::new(model, labels, config);
        trainer.learning_rate *= scale;
        trainer
    }

    pub fn new(model: &SoftmaxRegression, labels: &[usize], config: &TrainConfig) -> Trainer {
        Trainer {
            weight_sq: vec![0.0; model.weights.len()],
            bias_sq: vec![0.0; model.classes],
            class_weight: balanced_class_weights(labels, model.classes),
            order: (0..labels.len()).collect(),
            rng: SmallRng::seed_from_u64(config.seed),
            learning_rate: config.learning_rate,
            l2: config.l2,
        }
    }

    /// One pass over the data in a fresh random order.
    pub fn epoch(&mut self, model: &mut SoftmaxRegression, inputs: &[SparseVec], labels: &[usize]) {
        assert_eq!(inputs.len(), labels.len(), "one label per input");
        assert_eq!(self.order.len(), labels.len(), "same data every epoch");
        const EPS: f32 = 1e-8;
        let classes = model.classes;
        let mut probs = vec![0.0f32; classes];
        self.order.shuffle(&mut self.rng);
        for &i in &self.order {
            model.probabilities_into(&inputs[i], &mut probs);
            let w = self.class_weight[labels[i]];
            for (c, p) in probs.iter_mut().enumerate() {
                *p = w * (*p - if c == labels[i] { 1.0 } else { 0.0 });
            }
            for ((b, sq), &g) in model.bias.iter_mut().zip(&mut self.bias_sq).zip(&probs) {
                *sq += g * g;
                *b -= self.learning_rate * g / (sq.sqrt() + EPS);
            }
            for &(j, x) in &inputs[i] {
                let row = j as usize * classes..(j as usize + 1) * classes;
                let weights = &mut model.weights[row.clone()];
                let squares = &mut self.weight_sq[row];
                for ((w, sq), &p) in weights.iter_mut().zip(squares).zip(&probs) {
                    let g = p * x + self.l2 * *w;
                    *sq += g * g;
                    *w -= self.learning_rate * g / (sq.sqrt() + EPS);
                }
            }
        }
    }
}

/// n / (k · n_c): rare classes count as much as common ones in the loss.
fn balanced_class_weights(labels: &[usize], classes: usize) -> Vec<f32> {
    let mut counts = vec![0usize; classes];
    for &l in labels {
        counts[l] += 1;
    }
    let present = counts.iter().filter(|&&c| c > 0).count().max(1);
    counts
        .iter()
        .map(|&c| {
            if c == 0 {
                0.0
            } else {
                labels.len() as f32 / (present as f32 * c as f32)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_problem_deterministically() {
        let inputs: Vec<SparseVec> = vec![
            vec![(0, 1.0)],
            vec![(1, 1.0)],
            vec![(2, 1.0)],
            vec![(0, 0.7), (3, 0.7)],
        ];
        let labels = vec![0, 1, 2, 0];
        let config = TrainConfig::default();
        let a = SoftmaxRegression::train(&inputs, &labels, 3, 4, &config, |_| {});
        let b = SoftmaxRegression::train(&inputs, &labels, 3, 4, &config, |_| {});
        for (input, &label) in inputs.iter().zip(&labels) {
            let p = a.probabilities(input);
            let best = p
                .iter()
                .enumerate()
                .max_by(|x, y| x.1.total_cmp(y.1))
                .unwrap()
                .0;
            assert_eq!(best, label);
            assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert_eq!(p, b.probabilities(input), "same seed, same model");
        }
    }

    #[test]
    fn class_weights_balance_counts() {
        let w = balanced_class_weights(&[0, 0, 0, 1], 2);
        assert!((w[0] * 3.0 - w[1]).abs() < 1e-6);
    }
}
