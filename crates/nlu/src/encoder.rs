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
    /// Sentences the network itself has encoded so far, where the encoder
    /// keeps count (a cache in front answers the rest); training reports the
    /// difference.
    fn network_encodings(&self) -> Option<usize> {
        None
    }
    /// For each (text, word spans): the sentence embedding and one contextual
    /// vector per word span (the mean of the word pieces inside it), from one
    /// pass of the network. Encoders without token states cannot tag.
    fn encode_words(
        &self,
        items: &[(&str, &[(usize, usize)])],
    ) -> Result<Vec<WordEncoding>, NluError> {
        let _ = items;
        Err(NluError::Encoder(format!(
            "{} gives no word vectors",
            self.id()
        )))
    }
}

/// A text's sentence embedding and its words' contextual vectors.
#[derive(Debug, Clone, PartialEq)]
pub struct WordEncoding {
    pub sentence: Vec<f32>,
    pub words: Vec<Vec<f32>>,
}
