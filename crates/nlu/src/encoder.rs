//! The seam for dense sentence features: a sentence encoder (the transformer of
//! `opsbot-encoder`) plugs in here, so this crate never links libtorch.

use crate::NluError;

/// Turns texts into fixed-size, unit-length sentence embeddings.
pub trait SentenceEncoder: Send + Sync {
    /// Names the encoder and its weights; a model trained on its embeddings is
    /// only used with the same id.
    fn id(&self) -> &str;
    fn dimension(&self) -> usize;
    /// One embedding per text, in order.
    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NluError>;
}
