//! Evaluation of slot finding: exact-span precision, recall and F1, and the
//! k-fold run of the whole extraction (listed values, types, typos, tagger).

use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use super::training::encode_words;
use super::{TaggedText, Tagger, TaggerConfig};
use crate::{NluError, SentenceEncoder};

/// k-fold evaluation of the whole extraction on the project's annotations:
/// listed values, patterns, built-in types and typos as the bot finds them, plus
/// a tagger trained on the other folds; exact span and entity. Listed values
/// learned from annotations are known in every fold, so entities with closed
/// lists score as the running bot would on the same phrasings.
pub fn cross_validate_slots(
    project: &opsbot_spec::Project,
    extractor: &crate::EntityExtractor,
    encoder: Option<&dyn SentenceEncoder>,
    folds: usize,
    seed: u64,
) -> Result<SlotScores, NluError> {
    let examples = TaggedText::from_project(project);
    // The entities each example's dialog has slots for, in the order of
    // `from_project`: overlapping readings are resolved by them, as the bot does.
    let slot_entities: Vec<Option<std::collections::BTreeSet<String>>> = project
        .intents
        .values()
        .flat_map(|intent| {
            let entities = project
                .dialog_for_intent(&intent.name)
                .map(|d| d.slots.iter().map(|s| s.entity.clone()).collect());
            intent.examples.iter().map(move |_| entities.clone())
        })
        .chain(project.out_of_scope.iter().map(|_| None))
        .collect();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let vectors = encode_words(encoder, &texts, |_, _| {})?;
    let folds = folds.clamp(2, examples.len().max(2));
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(seed));
    let mut fold_of = vec![0; examples.len()];
    for (position, &i) in order.iter().enumerate() {
        fold_of[i] = position % folds;
    }
    let mut scores = SlotScores::default();
    for fold in 0..folds {
        let train: Vec<usize> = (0..examples.len())
            .filter(|&i| fold_of[i] != fold)
            .collect();
        let train_examples: Vec<TaggedText> = train.iter().map(|&i| examples[i].clone()).collect();
        let train_vectors: Vec<Vec<Vec<f32>>> = train.iter().map(|&i| vectors[i].clone()).collect();
        let tagger = Tagger::train(
            &train_examples,
            &train_vectors,
            encoder.map(|e| e.id()),
            &project.training_hash,
            TaggerConfig::default(),
        );
        for i in (0..examples.len()).filter(|&i| fold_of[i] == fold) {
            let text = &examples[i].text;
            let tagged = tagger.tag(text, &vectors[i]);
            let mut found = extractor.with_tagged(text, extractor.candidates(text), &tagged);
            if let Some(Some(entities)) = slot_entities.get(i) {
                found.retain(|m| entities.contains(&m.entity));
            }
            let predicted: Vec<(usize, usize, String)> =
                opsbot_spec::entity::remove_overlaps(found)
                    .into_iter()
                    .map(|m| (m.start, m.end, m.entity))
                    .collect();
            scores.add(&examples[i].spans, &predicted);
        }
    }
    Ok(scores)
}

/// Exact-span precision, recall and F1 per entity, and micro-averaged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotScores {
    /// Entity → (true positives, false positives, false negatives).
    pub counts: std::collections::BTreeMap<String, (usize, usize, usize)>,
}

impl SlotScores {
    /// Adds one text's gold and predicted (start, end, entity) spans.
    pub fn add(&mut self, gold: &[(usize, usize, String)], predicted: &[(usize, usize, String)]) {
        for p in predicted {
            let entry = self.counts.entry(p.2.clone()).or_default();
            if gold.contains(p) {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        for g in gold {
            if !predicted.contains(g) {
                self.counts.entry(g.2.clone()).or_default().2 += 1;
            }
        }
    }

    /// (precision, recall, F1) of one entity's counts.
    pub fn prf((tp, fp, fn_): (usize, usize, usize)) -> (f64, f64, f64) {
        let p = if tp + fp == 0 {
            0.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let r = if tp + fn_ == 0 {
            0.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    }

    pub fn micro(&self) -> (f64, f64, f64) {
        let total = self
            .counts
            .values()
            .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
        SlotScores::prf(total)
    }
}
