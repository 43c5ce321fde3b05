//! Calibration from held-out readings (out-of-fold, or one hold-out on large
//! data): the prototype head's weight and the temperature by likelihood, then
//! the out-of-scope threshold by the author's target (`threshold_target:`).

use opsbot_spec::{ThresholdTarget, OUT_OF_SCOPE};

use crate::classifier::softmax_in_place;
use crate::model::{rank_classes, Calibration, TrainMetrics};
use crate::reliability::reliability;

/// How a model that never saw an example read it.
pub(crate) struct Reading {
    /// The linear classifier's logits.
    pub logits: Vec<f32>,
    /// Cosine similarity to each class prototype (with an encoder).
    pub similarities: Option<Vec<f32>>,
    pub label: usize,
}

impl Reading {
    fn probabilities(&self, prototype_weight: f32, temperature: f32) -> Vec<f32> {
        let mut p = self.logits.clone();
        if let (Some(s), true) = (&self.similarities, prototype_weight != 0.0) {
            for (l, s) in p.iter_mut().zip(s) {
                *l += prototype_weight * s;
            }
        }
        softmax_in_place(&mut p, temperature);
        p
    }
}

/// What calibration decided.
pub(crate) struct Calibrated {
    pub calibration: Calibration,
    pub prototype_weight: f32,
    pub metrics: TrainMetrics,
}

/// Refused at most this share of right answers when the target is balanced but
/// no out-of-scope examples were held out to measure recall.
const BALANCED_REFUSE_RIGHT: f32 = 0.02;
/// ... and never above this threshold then.
const BALANCED_MAX_THRESHOLD: f32 = 0.5;

/// Temperatures tried: 0.1 … 10, log-spaced.
fn temperatures() -> impl Iterator<Item = f32> {
    (0..=40).map(|step| 10f32.powf(-1.0 + step as f32 / 20.0))
}

/// Mean negative log-likelihood of the labels.
fn loss(readings: &[Reading], prototype_weight: f32, temperature: f32) -> f64 {
    let total: f64 = readings
        .iter()
        .map(|r| {
            let p = r.probabilities(prototype_weight, temperature);
            -(p[r.label].max(1e-12) as f64).ln()
        })
        .sum();
    total / readings.len().max(1) as f64
}

/// `method` says where the readings came from, for the model's header.
pub(crate) fn calibrate(
    readings: &[Reading],
    classes: &[String],
    prototype_weights: &[f32],
    target: ThresholdTarget,
    method: &str,
) -> Calibrated {
    if readings.is_empty() {
        return Calibrated {
            calibration: Calibration::default(),
            prototype_weight: 0.0,
            metrics: TrainMetrics::default(),
        };
    }
    let has_prototypes = readings.iter().all(|r| r.similarities.is_some());
    let weights: Vec<f32> = if has_prototypes && !prototype_weights.is_empty() {
        prototype_weights.to_vec()
    } else {
        vec![0.0]
    };
    let mut best = (f64::INFINITY, 0.0f32, 1.0f32);
    for &weight in &weights {
        for temperature in temperatures() {
            let l = loss(readings, weight, temperature);
            if l < best.0 - 1e-9 {
                best = (l, weight, temperature);
            }
        }
    }
    let (_, prototype_weight, temperature) = best;

    let oos = classes.iter().position(|c| c == OUT_OF_SCOPE);
    let scored: Vec<Scored> = readings
        .iter()
        .map(|r| {
            let p = r.probabilities(prototype_weight, temperature);
            let ranked = rank_classes(classes, &p);
            let (best_class, best_p) = ranked
                .iter()
                .find(|(c, _)| c != OUT_OF_SCOPE)
                .cloned()
                .unwrap_or_default();
            let top = &ranked[0];
            Scored {
                oos_first: top.0 == OUT_OF_SCOPE,
                label: r.label,
                in_scope_right: classes[r.label] == best_class,
                best_p,
                top_p: top.1,
                top_right: top.0 == classes[r.label],
            }
        })
        .collect();
    let in_scope = |label: usize| Some(label) != oos;
    let held_in = scored.iter().filter(|s| in_scope(s.label)).count();
    let held_oos = scored.len() - held_in;
    let rates = |threshold: f32| -> (f64, f64) {
        let (mut right, mut caught) = (0, 0);
        for s in &scored {
            let answered = !s.oos_first && s.best_p >= threshold;
            if in_scope(s.label) {
                right += usize::from(answered && s.in_scope_right);
            } else {
                caught += usize::from(!answered);
            }
        }
        (
            right as f64 / held_in.max(1) as f64,
            caught as f64 / held_oos.max(1) as f64,
        )
    };
    // The readings an answer would be right for: in scope, read right, and
    // out of scope not likelier.
    let mut right_scores: Vec<f32> = scored
        .iter()
        .filter(|s| in_scope(s.label) && !s.oos_first && s.in_scope_right)
        .map(|s| s.best_p)
        .collect();
    right_scores.sort_by(f32::total_cmp);
    let refusing_at_most = |share: f32| -> f32 {
        let t = right_scores
            .get((right_scores.len() as f32 * share).floor() as usize)
            .copied()
            .unwrap_or(0.5);
        (t * 100.0).floor() / 100.0
    };
    let (threshold, rule) = match target {
        ThresholdTarget::Balanced if held_oos > 0 => {
            // Of the thresholds that score best, the middle one: the widest margin
            // on both sides (small held-out sets are often separable over a range).
            let objective: Vec<(f32, f64)> = (0..100)
                .map(|i| i as f32 / 100.0)
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
            (
                tied[tied.len() / 2],
                format!(
                    "balanced: the best in-scope accuracy + out-of-scope recall on {} {method} readings",
                    scored.len()
                ),
            )
        }
        ThresholdTarget::Balanced => (
            refusing_at_most(BALANCED_REFUSE_RIGHT).min(BALANCED_MAX_THRESHOLD),
            format!(
                "balanced without out-of-scope examples: refuses at most {:.0}% of the {} {method} readings it got right, at most {BALANCED_MAX_THRESHOLD}",
                BALANCED_REFUSE_RIGHT * 100.0,
                right_scores.len()
            ),
        ),
        ThresholdTarget::RefuseRightAtMost(share) => (
            refusing_at_most(share),
            format!(
                "refuses at most {}% of the {} {method} readings it got right",
                share * 100.0,
                right_scores.len()
            ),
        ),
    };
    let (in_scope_accuracy, recall) = rates(threshold);
    let refused_right = right_scores.iter().filter(|&&p| p < threshold).count() as f64
        / right_scores.len().max(1) as f64;
    Calibrated {
        calibration: Calibration {
            temperature,
            threshold,
            threshold_rule: rule,
        },
        prototype_weight,
        metrics: TrainMetrics {
            validation_examples: scored.len(),
            in_scope_accuracy,
            out_of_scope_recall: (held_oos > 0).then_some(recall),
            method: method.to_string(),
            refused_right,
            reliability: reliability(scored.iter().map(|s| (s.top_p, s.top_right))),
            ..TrainMetrics::default()
        },
    }
}

struct Scored {
    oos_first: bool,
    label: usize,
    /// The likeliest in-scope class is the label.
    in_scope_right: bool,
    /// Probability of the likeliest in-scope class (what the threshold applies to).
    best_p: f32,
    /// Probability of the likeliest class, out of scope included, and whether it is right.
    top_p: f32,
    top_right: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<String> {
        vec!["a".into(), "b".into(), OUT_OF_SCOPE.into()]
    }

    /// Readings that are right with a margin that grows with `i`.
    fn readings(n: usize) -> Vec<Reading> {
        (0..n)
            .map(|i| {
                let label = i % 2;
                let margin = 0.2 + (i as f32 / n as f32) * 4.0;
                let mut logits = vec![0.0; 3];
                logits[label] = margin;
                Reading {
                    logits,
                    similarities: None,
                    label,
                }
            })
            .collect()
    }

    #[test]
    fn a_stated_refusal_share_is_kept_on_the_readings() {
        let readings = readings(200);
        for share in [0.01f32, 0.05, 0.2] {
            let c = calibrate(
                &readings,
                &classes(),
                &[0.0],
                ThresholdTarget::RefuseRightAtMost(share),
                "test",
            );
            assert!(
                c.metrics.refused_right <= share as f64 + 1e-9,
                "{share}: {}",
                c.metrics.refused_right
            );
            assert!(c.calibration.threshold_rule.contains("refuses at most"));
        }
        let loose = calibrate(
            &readings,
            &classes(),
            &[0.0],
            ThresholdTarget::RefuseRightAtMost(0.01),
            "t",
        );
        let strict = calibrate(
            &readings,
            &classes(),
            &[0.0],
            ThresholdTarget::RefuseRightAtMost(0.2),
            "t",
        );
        assert!(strict.calibration.threshold > loose.calibration.threshold);
    }

    /// 60 readings of two classes: the logits favour the label by
    /// `logit_margin`, the similarities favour the label (`true`) or the other class.
    fn prototype_readings(logit_margin: f32, similarities_right: bool) -> Vec<Reading> {
        (0..60)
            .map(|i| {
                let label = i % 2;
                let mut logits = vec![0.0; 3];
                logits[label] = logit_margin;
                let mut similarities = vec![0.1; 3];
                similarities[if similarities_right { label } else { 1 - label }] = 0.6;
                Reading {
                    logits,
                    similarities: Some(similarities),
                    label,
                }
            })
            .collect()
    }

    fn prototype_weight(readings: &[Reading]) -> (f32, usize) {
        let c = calibrate(
            readings,
            &classes(),
            &[0.0, 5.0, 20.0],
            ThresholdTarget::Balanced,
            "t",
        );
        (c.prototype_weight, c.metrics.reliability.readings)
    }

    #[test]
    fn prototypes_get_weight_only_when_they_help() {
        // The logits say nothing; the similarities know the class.
        let (weight, readings) = prototype_weight(&prototype_readings(0.0, true));
        assert!(weight > 0.0);
        assert_eq!(readings, 60);
        // Misleading similarities: left out.
        assert_eq!(prototype_weight(&prototype_readings(3.0, false)).0, 0.0);
    }
}
