//! Measuring the intent classifier: stratified k-fold cross-validation with
//! accuracy, macro-F1, per-intent scores, confused pairs, the misses, and how
//! honest the confidence is (calibration error, right answers refused).

use std::collections::BTreeMap;
use std::time::Instant;

use serde::Serialize;

use opsbot_spec::OUT_OF_SCOPE;

use crate::extract::EntityExtractor;
pub use crate::folds::stratified_folds;
use crate::model::{decide, IntentModel, NluConfig};
use crate::reliability::{reliability, Reliability};
use crate::train::{train, TrainOptions, TrainingData};
use crate::{NluError, SentenceEncoder, Understanding};

#[derive(Debug, Clone, Serialize)]
pub struct ClassScore {
    pub class: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub support: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub text: String,
    pub expected: String,
    pub predicted: String,
    pub confidence: f32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub folds: usize,
    pub examples: usize,
    /// Share of examples decided right (out of scope counts as a class).
    pub accuracy: f64,
    /// Share of in-scope examples given their right intent (CLINC150's measure).
    pub in_scope_accuracy: f64,
    /// Precision and recall of "out of scope", when the data has such examples.
    pub out_of_scope: Option<ClassScore>,
    pub macro_f1: f64,
    /// Mean decision threshold of the models evaluated.
    pub threshold: f32,
    /// Mean training time of one fold's model, in seconds.
    pub mean_training_seconds: f64,
    pub per_class: Vec<ClassScore>,
    /// (expected, predicted, count), most frequent first.
    pub confused_pairs: Vec<(String, String, usize)>,
    pub misses: Vec<Miss>,
    pub confusion: Confusion,
    /// Calibration of the likeliest class's probability (out of scope counts).
    pub reliability: Reliability,
    /// Share of the in-scope messages whose likeliest intent was right that the
    /// threshold (or the "did you mean" question) did not answer.
    pub refused_right: f64,
}

/// How one message was read: the decision, and the ranking behind it.
#[derive(Debug, Clone)]
pub struct Read {
    /// The class decided and its confidence (out of scope below the threshold).
    pub decided: (String, f32),
    /// The likeliest class, out of scope included, and its probability.
    pub top: (String, f32),
    /// The likeliest in-scope intent, threshold aside.
    pub best_in_scope: String,
}

/// Counts of (expected, predicted) over the classes, for the confusion-matrix image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Confusion {
    pub classes: Vec<String>,
    /// `counts[expected][predicted]`, in the order of `classes`.
    pub counts: Vec<Vec<usize>>,
}

/// k-fold cross-validation: every example is predicted by a model that never
/// saw it. Each fold's model decides at `threshold` (the one `opsbot.yaml`
/// sets) or, without it, at the threshold it learned on its own training share.
#[allow(clippy::too_many_arguments)]
pub fn cross_validate(
    data: &TrainingData,
    extractor: &EntityExtractor,
    config: &NluConfig,
    folds: usize,
    seed: u64,
    threshold: Option<f32>,
    encoder: Option<&dyn SentenceEncoder>,
    mut on_fold: impl FnMut(usize),
) -> Result<Evaluation, NluError> {
    let folds = folds.clamp(2, data.len().max(2));
    let split = stratified_folds(&data.labels, folds, seed);
    let mut predictions: Vec<Option<Read>> = vec![None; data.len()];
    let mut training_seconds = 0.0;
    let mut threshold_sum = 0.0;
    let options = TrainOptions {
        encoder,
        validation: None,
        previous: None,
    };
    for (k, test) in split.iter().enumerate() {
        let in_test: std::collections::HashSet<usize> = test.iter().copied().collect();
        let train_idx: Vec<usize> = (0..data.len()).filter(|i| !in_test.contains(i)).collect();
        let started = Instant::now();
        let mut model = train(
            &data.subset(&train_idx),
            extractor,
            config,
            "cross-validation",
            options,
            |_| {},
        )?;
        training_seconds += started.elapsed().as_secs_f64();
        if let Some(threshold) = threshold {
            model.meta.calibration.threshold = threshold;
        }
        threshold_sum += model.meta.calibration.threshold as f64;
        let test_data = data.subset(test);
        for (&i, prediction) in test
            .iter()
            .zip(predict(&model, &test_data, extractor, encoder)?)
        {
            predictions[i] = Some(prediction);
        }
        on_fold(k + 1);
    }
    let reads: Vec<Read> = predictions.into_iter().flatten().collect();
    let mut evaluation = score_reads(data, &reads);
    evaluation.folds = folds;
    evaluation.mean_training_seconds = training_seconds / folds as f64;
    evaluation.threshold = (threshold_sum / folds as f64) as f32;
    Ok(evaluation)
}

/// Scores a trained model on labelled test data.
pub fn evaluate_model(
    model: &IntentModel,
    data: &TrainingData,
    extractor: &EntityExtractor,
    encoder: Option<&dyn SentenceEncoder>,
) -> Result<Evaluation, NluError> {
    let reads = predict(model, data, extractor, encoder)?;
    let mut evaluation = score_reads(data, &reads);
    evaluation.threshold = model.meta.calibration.threshold;
    Ok(evaluation)
}

/// A test set read as the live bot reads it ([`crate::Nlu::understand`]:
/// the threshold `opsbot.yaml` sets or the model learned, the ambiguity
/// question, the unknown-word rule), with the figure without a threshold.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvaluation {
    /// As the bot decides; a message it would ask about counts as not answered
    /// (out of scope).
    pub evaluation: Evaluation,
    /// What each message would meet, as the person sees it.
    pub paths: Paths,
    /// In-scope accuracy of the likeliest in-scope intent, no threshold, no question.
    pub in_scope_accuracy_without_threshold: f64,
}

/// What the messages of a test set would meet: answered, asked (one option
/// or two), or refused — each right or wrong for its label.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Paths {
    /// Answered with the right intent, or a wrong one.
    pub answered_right: usize,
    pub answered_wrong: usize,
    /// "Did you mean A or B?" with the right intent among the two, or
    /// without it (out of scope counts so).
    pub asked_which_right: usize,
    pub asked_which_wrong: usize,
    /// "Did you mean to …?" (one option below the threshold), the right
    /// intent or not.
    pub asked_meant_right: usize,
    pub asked_meant_wrong: usize,
    /// Of those asked about another intent, the ones out of scope.
    pub asked_meant_out_of_scope: usize,
    /// Refused: rightly (out of scope), or though it was in scope.
    pub refused_right: usize,
    pub refused_in_scope: usize,
    /// Of those refused in scope, the ones whose likeliest intent was right.
    pub refused_right_reading: usize,
}

impl Paths {
    /// Messages the bot would answer with "did you mean A or B?".
    pub fn asked_which(&self) -> usize {
        self.asked_which_right + self.asked_which_wrong
    }

    fn count(&mut self, u: &Understanding, label: &str) {
        let in_scope = label != OUT_OF_SCOPE;
        let is = |name: &str| in_scope && name == label;
        let (right, wrong) = if !u.ambiguous.is_empty() {
            (&mut self.asked_which_right, &mut self.asked_which_wrong)
        } else if u.intent.is_some() {
            (&mut self.answered_right, &mut self.answered_wrong)
        } else if u.meant.is_some() {
            self.asked_meant_out_of_scope += usize::from(!in_scope);
            (&mut self.asked_meant_right, &mut self.asked_meant_wrong)
        } else if in_scope {
            self.refused_in_scope += 1;
            self.refused_right_reading +=
                usize::from(u.nearest_intents().next().is_some_and(|g| is(&g.name)));
            return;
        } else {
            self.refused_right += 1;
            return;
        };
        let offered = u
            .ambiguous
            .iter()
            .chain(u.intent.iter())
            .chain(u.meant.iter())
            .any(|g| is(&g.name));
        *if offered { right } else { wrong } += 1;
    }
}

pub fn evaluate_live(nlu: &crate::Nlu, data: &TrainingData) -> LiveEvaluation {
    let mut paths = Paths::default();
    let (mut in_scope, mut top_right) = (0usize, 0usize);
    let reads: Vec<Read> = data
        .texts
        .iter()
        .zip(&data.labels)
        .map(|(text, label)| {
            let u = nlu.understand(text);
            paths.count(&u, label);
            let best_in_scope = u
                .nearest_intents()
                .next()
                .map(|g| g.name.clone())
                .unwrap_or_else(|| OUT_OF_SCOPE.to_string());
            if label != OUT_OF_SCOPE {
                in_scope += 1;
                top_right += usize::from(&best_in_scope == label);
            }
            let top = u
                .ranking
                .first()
                .map(|g| (g.name.clone(), g.confidence))
                .unwrap_or_else(|| (OUT_OF_SCOPE.to_string(), 0.0));
            let confidence = u.ranking.first().map_or(0.0, |g| g.confidence);
            let decided = if !u.ambiguous.is_empty() {
                (OUT_OF_SCOPE.to_string(), confidence)
            } else {
                match u.intent {
                    Some(intent) => (intent.name, intent.confidence),
                    None => (OUT_OF_SCOPE.to_string(), confidence),
                }
            };
            Read {
                decided,
                top,
                best_in_scope,
            }
        })
        .collect();
    let mut evaluation = score_reads(data, &reads);
    evaluation.threshold = nlu.threshold();
    LiveEvaluation {
        evaluation,
        paths,
        in_scope_accuracy_without_threshold: if in_scope == 0 {
            0.0
        } else {
            top_right as f64 / in_scope as f64
        },
    }
}

/// How the model reads each text, deciding at its threshold.
pub fn predict(
    model: &IntentModel,
    data: &TrainingData,
    extractor: &EntityExtractor,
    encoder: Option<&dyn SentenceEncoder>,
) -> Result<Vec<Read>, NluError> {
    let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
    let embeddings = match (encoder, &model.meta.encoder) {
        (Some(encoder), Some(_)) => Some(encoder.encode(&texts)?),
        _ => None,
    };
    Ok(texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let embedding = embeddings.as_ref().map(|e| e[i].as_slice());
            let ranked = model.rank(text, &extractor.extract(text), embedding);
            read_ranking(&ranked, model.meta.calibration.threshold)
        })
        .collect())
}

/// The decision at `threshold` and the ranking's top, from a ranking.
pub fn read_ranking(ranked: &[(String, f32)], threshold: f32) -> Read {
    Read {
        decided: decide(ranked, threshold),
        top: ranked
            .first()
            .cloned()
            .unwrap_or_else(|| (OUT_OF_SCOPE.to_string(), 0.0)),
        best_in_scope: ranked
            .iter()
            .find(|(c, _)| c != OUT_OF_SCOPE)
            .map(|(c, _)| c.clone())
            .unwrap_or_else(|| OUT_OF_SCOPE.to_string()),
    }
}

/// Scores reads: the decisions as [`score`] does, plus calibration and the
/// right answers refused.
pub fn score_reads(data: &TrainingData, reads: &[Read]) -> Evaluation {
    let decisions: Vec<(String, f32)> = reads.iter().map(|r| r.decided.clone()).collect();
    let mut evaluation = score(data, &decisions);
    evaluation.reliability = reliability(
        reads
            .iter()
            .zip(&data.labels)
            .map(|(r, label)| (r.top.1, &r.top.0 == label)),
    );
    let right: Vec<&Read> = reads
        .iter()
        .zip(&data.labels)
        .filter(|(r, label)| *label != OUT_OF_SCOPE && &r.best_in_scope == *label)
        .map(|(r, _)| r)
        .collect();
    evaluation.refused_right = right
        .iter()
        .filter(|r| r.decided.0 != r.best_in_scope)
        .count() as f64
        / right.len().max(1) as f64;
    evaluation
}

/// Scores predictions (class, confidence) against the data's labels.
pub fn score(data: &TrainingData, predictions: &[(String, f32)]) -> Evaluation {
    let classes = data.classes();
    let mut per_class = Vec::new();
    for class in &classes {
        let tp = (0..data.len())
            .filter(|&i| data.labels[i] == *class && predictions[i].0 == *class)
            .count();
        let predicted = predictions.iter().filter(|p| p.0 == *class).count();
        let support = data.labels.iter().filter(|l| *l == class).count();
        let precision = if predicted == 0 {
            0.0
        } else {
            tp as f64 / predicted as f64
        };
        let recall = if support == 0 {
            0.0
        } else {
            tp as f64 / support as f64
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        per_class.push(ClassScore {
            class: class.clone(),
            precision,
            recall,
            f1,
            support,
        });
    }
    let correct = (0..data.len())
        .filter(|&i| data.labels[i] == predictions[i].0)
        .count();
    let mut pairs: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut misses = Vec::new();
    for ((text, label), (predicted, confidence)) in
        data.texts.iter().zip(&data.labels).zip(predictions)
    {
        if label != predicted {
            *pairs.entry((label.clone(), predicted.clone())).or_default() += 1;
            misses.push(Miss {
                text: text.clone(),
                expected: label.clone(),
                predicted: predicted.clone(),
                confidence: *confidence,
            });
        }
    }
    let mut confusion = Confusion {
        classes: classes.clone(),
        counts: vec![vec![0; classes.len()]; classes.len()],
    };
    for (label, (predicted, _)) in data.labels.iter().zip(predictions) {
        if let (Ok(e), Ok(p)) = (
            classes.binary_search(label),
            classes.binary_search(predicted),
        ) {
            confusion.counts[e][p] += 1;
        }
    }
    let in_scope: Vec<usize> = (0..data.len())
        .filter(|&i| data.labels[i] != OUT_OF_SCOPE)
        .collect();
    let in_scope_accuracy = in_scope
        .iter()
        .filter(|&&i| data.labels[i] == predictions[i].0)
        .count() as f64
        / in_scope.len().max(1) as f64;
    let out_of_scope = per_class.iter().find(|c| c.class == OUT_OF_SCOPE).cloned();
    let mut confused_pairs: Vec<(String, String, usize)> =
        pairs.into_iter().map(|((a, b), n)| (a, b, n)).collect();
    confused_pairs.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
    Evaluation {
        folds: 0,
        examples: data.len(),
        accuracy: if data.is_empty() {
            0.0
        } else {
            correct as f64 / data.len() as f64
        },
        macro_f1: if per_class.is_empty() {
            0.0
        } else {
            per_class.iter().map(|c| c.f1).sum::<f64>() / per_class.len() as f64
        },
        in_scope_accuracy,
        out_of_scope,
        threshold: 0.0,
        mean_training_seconds: 0.0,
        per_class,
        confused_pairs,
        misses,
        confusion,
        reliability: Reliability::default(),
        refused_right: 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_partition_and_stratify() {
        let labels: Vec<String> = (0..20)
            .map(|i| if i < 10 { "a" } else { "b" }.to_string())
            .collect();
        let folds = stratified_folds(&labels, 5, 1);
        let mut all: Vec<usize> = folds.iter().flatten().copied().collect();
        all.sort();
        assert_eq!(all, (0..20).collect::<Vec<_>>());
        for fold in &folds {
            assert_eq!(fold.iter().filter(|&&i| i < 10).count(), 2);
        }
    }

    #[test]
    fn score_counts_precision_and_recall() {
        let mut data = TrainingData::default();
        data.push("x", "a");
        data.push("y", "a");
        data.push("z", "b");
        let predictions = vec![
            ("a".to_string(), 0.9),
            ("b".to_string(), 0.6),
            ("b".to_string(), 0.8),
        ];
        let e = score(&data, &predictions);
        assert!((e.accuracy - 2.0 / 3.0).abs() < 1e-9);
        let b = &e.per_class[1];
        assert_eq!((b.precision, b.recall), (0.5, 1.0));
        assert_eq!(
            e.confused_pairs,
            vec![("a".to_string(), "b".to_string(), 1)]
        );
    }
}
