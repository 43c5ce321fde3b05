//! Natural-language understanding: an intent classifier trained in Rust on sparse
//! n-gram features, and entity extraction from regexes, value lists with synonyms
//! and values learned from annotations.
//!
//! Second stage of the pipeline: it reads the checked spec and produces an
//! [`Understanding`] per message, which is all the dialog engine ever sees.

pub mod artifact;
pub mod classifier;
mod encoder;
pub mod evaluate;
pub mod extract;
pub mod features;
mod folds;
pub mod import;
pub mod model;
pub mod near_miss;
pub mod neighbours;
pub mod prototype;
pub mod reliability;
mod stale;
pub mod tagger;
mod text;
pub mod train;
mod understand;

#[cfg(test)]
mod fuzz;

use std::path::PathBuf;

pub use encoder::{SentenceEncoder, WordEncoding};
pub use extract::EntityExtractor;
pub use model::{Calibration, IntentModel, ModelMeta, NluConfig, TrainMetrics, MODEL_FILE};
pub use stale::Staleness;
pub use tagger::{train_for_project, SlotScores, TaggedText, Tagger, TAGGER_FILE};
pub use train::{train, TrainOptions, TrainProgress, TrainingData};
pub use understand::{IntentGuess, Nlu, Understanding, Unsure};

#[derive(Debug, thiserror::Error)]
pub enum NluError {
    #[error("no trained model at {}; run `opsbot train` first", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a readable model ({reason}); run `opsbot train` to rebuild it", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("{} is {found} but this opsbot reads {expected}; run `opsbot train` to rebuild it", path.display())]
    Version {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("{} was trained with the sentence encoder {needs}, but this bot has {have}; run `opsbot train` (and `make models` if the encoder is missing)", path.display())]
    EncoderMismatch {
        path: PathBuf,
        needs: String,
        have: String,
    },
    #[error("sentence encoder: {0}")]
    Encoder(String),
    #[error("{} is stale: it was trained on intents {trained_on} but intents/ is now {current}; run `opsbot train`", path.display())]
    Stale {
        path: PathBuf,
        trained_on: String,
        current: String,
    },
}
