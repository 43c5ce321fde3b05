//! Calibration from held-out readings (out-of-fold, or one hold-out on large
//! data): the prototype and nearest-example heads' weights and the temperature
//! by likelihood, then
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
    /// Cosine similarity to each class's nearest example (with an encoder
    /// and the nearest-example head).
    pub nearest: Option<Vec<f32>>,
    pub label: usize,
}

/// The weights of the heads added to the linear classifier's logits.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct HeadWeights {
    pub prototype: f32,
    pub neighbour: f32,
}

impl Reading {
    /// The logits with the heads' weighted similarities added, into `out`.
    fn scores_into(&self, heads: HeadWeights, out: &mut Vec<f32>) {
        out.clear();
        out.extend_from_slice(&self.logits);
        for (similarities, weight) in [
            (&self.similarities, heads.prototype),
            (&self.nearest, heads.neighbour),
        ] {
            if let (Some(s), true) = (similarities, weight != 0.0) {
                for (l, s) in out.iter_mut().zip(s) {
                    *l += weight * s;
                }
            }
        }
    }

    fn probabilities(&self, heads: HeadWeights, temperature: f32) -> Vec<f32> {
        let mut p = Vec::with_capacity(self.logits.len());
        self.scores_into(heads, &mut p);
        softmax_in_place(&mut p, temperature);
        p
    }

    /// −ln of the label's probability (at most −ln 1e-12), without
    /// allocating: the weights' search computes it tens of thousands of times
    /// per reading.
    fn surprise(&self, scores: &[f32], temperature: f32) -> f64 {
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max) / temperature;
        let total: f32 = scores.iter().map(|s| (s / temperature - max).exp()).sum();
        let log_p = scores[self.label] / temperature - max - total.ln();
        (-(log_p as f64)).min(-(1e-12f64).ln())
    }
}

/// What calibration decided.
pub(crate) struct Calibrated {
    pub calibration: Calibration,
    pub heads: HeadWeights,
    pub metrics: TrainMetrics,
}

/// Refused at most this share of right answers when the target is balanced but
/// no out-of-scope examples were held out to measure recall.
const BALANCED_REFUSE_RIGHT: f32 = 0.02;
/// ... and never above this threshold then.
const BALANCED_MAX_THRESHOLD: f32 = 0.5;

/// "Did you mean to …?" is asked only over a band of probabilities below
/// the threshold where, out of fold, the one option offered is the right
/// intent at least this often: more often right than not.
const ASK_RIGHT_AT_LEAST: f64 = 0.5;
/// ... and that band holds at least this many readings, so the share means
/// something.
const ASK_MIN_READINGS: usize = 5;
/// ... and it asks about at most this share of the held-out out-of-scope
/// examples. Kept apart from the share right because how common such
/// messages are in use is unknown: a bot's few out-of-scope examples say how
/// often one is asked about, not how often one comes (on CLINC150 10-shot
/// they were 3 % of the training data and 18 % of the test set).
const ASK_OUT_OF_SCOPE_AT_MOST: f64 = 0.05;

/// Temperatures tried: 0.1 … 10, log-spaced.
fn temperatures() -> impl Iterator<Item = f32> {
    (0..=40).map(|step| 10f32.powf(-1.0 + step as f32 / 20.0))
}

/// Mean negative log-likelihood of the labels.
fn loss(readings: &[Reading], scores: &[Vec<f32>], temperature: f32) -> f64 {
    let total: f64 = readings
        .iter()
        .zip(scores)
        .map(|(r, s)| r.surprise(s, temperature))
        .sum();
    total / readings.len().max(1) as f64
}

/// The best temperature for these head weights and its loss.
fn fit_temperature(readings: &[Reading], heads: HeadWeights) -> (f64, f32) {
    let scores: Vec<Vec<f32>> = readings
        .iter()
        .map(|r| {
            let mut s = Vec::with_capacity(r.logits.len());
            r.scores_into(heads, &mut s);
            s
        })
        .collect();
    let mut best = (f64::INFINITY, 1.0f32);
    for temperature in temperatures() {
        let l = loss(readings, &scores, temperature);
        if l < best.0 - 1e-9 {
            best = (l, temperature);
        }
    }
    best
}

/// `method` says where the readings came from, for the model's header.
pub(crate) fn calibrate(
    readings: &[Reading],
    classes: &[String],
    head_weights: (&[f32], &[f32]),
    target: ThresholdTarget,
    method: &str,
) -> Calibrated {
    if readings.is_empty() {
        return Calibrated {
            calibration: Calibration::default(),
            heads: HeadWeights::default(),
            metrics: TrainMetrics::default(),
        };
    }
    // A head is tried only where every reading has its similarities.
    let tried = |weights: &[f32], has: bool| -> Vec<f32> {
        if has && !weights.is_empty() {
            weights.to_vec()
        } else {
            vec![0.0]
        }
    };
    let prototype_weights = tried(
        head_weights.0,
        readings.iter().all(|r| r.similarities.is_some()),
    );
    let neighbour_weights = tried(head_weights.1, readings.iter().all(|r| r.nearest.is_some()));
    // One head's weight at a time, the other held: the prototypes', the
    // nearest examples' given it, the prototypes' again given that (a full
    // grid would cost the product of the lists). Starting from no heads and
    // moving only on a strictly lower loss, a head is weighted only when it
    // makes the held-out labels likelier.
    type Set = fn(HeadWeights, f32) -> HeadWeights;
    let set_prototype: Set = |h, w| HeadWeights { prototype: w, ..h };
    let set_neighbour: Set = |h, w| HeadWeights { neighbour: w, ..h };
    let passes = [
        (&prototype_weights, set_prototype),
        (&neighbour_weights, set_neighbour),
        (&prototype_weights, set_prototype),
    ];
    let start = HeadWeights::default();
    let (loss0, temperature0) = fit_temperature(readings, start);
    let mut best = (loss0, start, temperature0);
    for (weights, set) in passes {
        let held = best.1;
        for heads in weights.iter().map(|&w| set(held, w)).filter(|&h| h != held) {
            let (l, temperature) = fit_temperature(readings, heads);
            if l < best.0 - 1e-9 {
                best = (l, heads, temperature);
            }
        }
    }
    let (_, heads, temperature) = best;

    let oos = classes.iter().position(|c| c == OUT_OF_SCOPE);
    let scored: Vec<Scored> = readings
        .iter()
        .map(|r| {
            let p = r.probabilities(heads, temperature);
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
    let ask = (held_oos > 0)
        .then(|| {
            ask_band(
                &scored,
                threshold,
                |s| in_scope(s.label) && s.in_scope_right,
                |s| !in_scope(s.label),
                held_oos,
            )
        })
        .flatten();
    Calibrated {
        calibration: Calibration {
            temperature,
            threshold,
            threshold_rule: rule,
            ask_from: ask.as_ref().map(|a| a.from),
        },
        heads,
        metrics: TrainMetrics {
            validation_examples: scored.len(),
            in_scope_accuracy,
            out_of_scope_recall: (held_oos > 0).then_some(recall),
            method: method.to_string(),
            refused_right,
            reliability: reliability(scored.iter().map(|s| (s.top_p, s.top_right))),
            asked_right: ask
                .as_ref()
                .map_or(0.0, |a| a.right as f64 / right_scores.len().max(1) as f64),
            questions_right: ask
                .as_ref()
                .map_or(0.0, |a| a.right as f64 / a.asked.max(1) as f64),
            ..TrainMetrics::default()
        },
    }
}

/// Where "Did you mean to …?" starts, and how it did out of fold.
struct AskBand {
    from: f32,
    asked: usize,
    right: usize,
}

/// The lowest probability from which the readings the threshold refuses,
/// though an intent is likeliest, get the right intent offered at least
/// [`ASK_RIGHT_AT_LEAST`] of the time (out-of-scope messages among them
/// count as wrong), asking about at most [`ASK_OUT_OF_SCOPE_AT_MOST`] of
/// the `held_oos` out-of-scope readings. Requires held-out out-of-scope
/// examples: without them nothing says how often a message the bot cannot
/// serve would be asked.
fn ask_band(
    scored: &[Scored],
    threshold: f32,
    right: impl Fn(&Scored) -> bool,
    out_of_scope: impl Fn(&Scored) -> bool,
    held_oos: usize,
) -> Option<AskBand> {
    let mut band: Vec<(f32, bool, bool)> = scored
        .iter()
        .filter(|s| !s.oos_first && s.best_p < threshold)
        .map(|s| (s.best_p, right(s), out_of_scope(s)))
        .collect();
    // Likeliest first: lowering the start adds readings one by one.
    band.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut found = None;
    let (mut right_so_far, mut oos_so_far) = (0, 0);
    for (i, &(p, is_right, is_oos)) in band.iter().enumerate() {
        right_so_far += usize::from(is_right);
        oos_so_far += usize::from(is_oos);
        // One reading is not a rate: a bot with a dozen out-of-scope examples
        // may still have one of them asked about.
        if oos_so_far as f64 > (ASK_OUT_OF_SCOPE_AT_MOST * held_oos as f64).max(1.0) {
            break;
        }
        let asked = i + 1;
        let next_is_tied = band.get(i + 1).is_some_and(|next| next.0 == p);
        if !next_is_tied
            && asked >= ASK_MIN_READINGS
            && right_so_far as f64 >= ASK_RIGHT_AT_LEAST * asked as f64
        {
            found = Some(AskBand {
                from: p,
                asked,
                right: right_so_far,
            });
        }
    }
    found
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
#[path = "calibrate_tests.rs"]
mod tests;
