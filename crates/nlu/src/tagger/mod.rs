//! The trained slot tagger: finds annotated entities from the words around them,
//! so a value never seen in training ("restart nginx on zeta-42") is still found.
//!
//! Token classification with BIO labels over words. Each word's features are the
//! encoder's contextual vector for it (the mean of its word pieces) and sparse
//! word-shape and context features (the word, its shape, prefixes and suffixes,
//! its neighbours). Softmax regression trained in Rust (Adagrad); decoding is
//! Viterbi under the BIO constraint (an `I-x` only after a `B-x` or `I-x`).
//! Saved as its own artifact beside the intent model, named by the same data hash.
//!
//! This file holds the types; the work is split by concern: `features` (words
//! and their sparse features), `training`, `decoding` (Viterbi), `file` (the
//! artifact) and `scores` (exact-span evaluation).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

mod decoding;
mod features;
mod file;
mod scores;
mod training;

#[cfg(test)]
mod tests;

pub use features::words;
pub use scores::{cross_validate_slots, SlotScores};
pub use training::{encode_words, train_for_project};

/// The tagger's file under `models/`.
pub const TAGGER_FILE: &str = "slot-tagger.bin";
/// Spans the tagger is less sure of than this are dropped.
pub const MIN_SPAN_CONFIDENCE: f32 = 0.5;

/// An example for the tagger: text and annotated (start, end, entity) byte spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedText {
    pub text: String,
    pub spans: Vec<(usize, usize, String)>,
}

impl TaggedText {
    /// Every example of the project (intents and out of scope), with the bot's
    /// name masked as the classifier sees it; examples without annotations teach
    /// what is not a value.
    pub fn from_project(project: &opsbot_spec::Project) -> Vec<TaggedText> {
        project
            .intents
            .values()
            .flat_map(|i| i.examples.iter())
            .chain(project.out_of_scope.iter())
            .map(|e| TaggedText {
                text: crate::text::mask_bot_name(&e.text, &project.settings.name),
                spans: e
                    .spans
                    .iter()
                    .map(|s| (s.start, s.end, s.entity.clone()))
                    .collect(),
            })
            .collect()
    }
}

/// A span the tagger found.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedSpan {
    pub entity: String,
    pub start: usize,
    pub end: usize,
    /// Mean probability of the span's labels.
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy)]
pub struct TaggerConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    /// Scale of the contextual word vector beside the 0/1 sparse features.
    pub dense_weight: f32,
}

impl Default for TaggerConfig {
    fn default() -> Self {
        TaggerConfig {
            epochs: 8,
            learning_rate: 0.1,
            dense_weight: 2.0,
        }
    }
}

/// A trained tagger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tagger {
    labels: Vec<String>,
    /// Feature hash → row of `sparse`.
    features: HashMap<u64, u32>,
    /// Row-major: one row of `labels.len()` weights per feature.
    sparse: Vec<f32>,
    /// Row-major: one row per dimension of the word vector.
    dense: Vec<f32>,
    dense_dim: usize,
    dense_weight: f32,
    encoder: Option<String>,
    training_hash: String,
    examples: usize,
    training_seconds: f64,
}

impl Tagger {
    /// Whether this tagger needs word vectors from an encoder.
    pub fn needs_encoder(&self) -> bool {
        self.dense_dim > 0
    }

    pub fn encoder(&self) -> Option<&str> {
        self.encoder.as_deref()
    }

    pub fn training_hash(&self) -> &str {
        &self.training_hash
    }

    /// Entities it was trained to find.
    pub fn entities(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .labels
            .iter()
            .filter_map(|l| l.strip_prefix("B-").map(str::to_string))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
