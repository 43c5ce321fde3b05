//! The tagger's artifact: a JSON header and bincode weights in the crate's
//! shared framing (`crate::artifact`), checked for shape and finiteness at load.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Tagger;
use crate::NluError;

const MAGIC: &[u8] = b"OPSBOT-TAGGER\n";
const FORMAT_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    format_version: u32,
    training_hash: String,
    encoder: Option<String>,
    entities: Vec<String>,
    examples: usize,
    training_seconds: f64,
}

impl Tagger {
    pub fn save(&self, path: &Path) -> Result<(), NluError> {
        let header = Header {
            format_version: FORMAT_VERSION,
            training_hash: self.training_hash.clone(),
            encoder: self.encoder.clone(),
            entities: self.entities(),
            examples: self.examples,
            training_seconds: self.training_seconds,
        };
        let body = bincode::serialize(self).map_err(|e| NluError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let header = serde_json::to_vec(&header).expect("header serialises");
        crate::artifact::write(path, MAGIC, &header, &body)
    }

    /// Reads a tagger, checking its checksum and that every index it decodes
    /// with stays in bounds.
    pub fn load(path: &Path) -> Result<Tagger, NluError> {
        let corrupt = |reason: String| NluError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let artifact = crate::artifact::read(path, MAGIC, "an opsbot slot tagger")?;
        let header: Header = serde_json::from_slice(artifact.header())
            .map_err(|e| corrupt(format!("header: {e}")))?;
        if header.format_version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {} (this opsbot reads {FORMAT_VERSION}); run `opsbot train`",
                header.format_version
            )));
        }
        let tagger: Tagger = bincode::deserialize(artifact.body())
            .map_err(|e| corrupt(format!("the weights do not decode ({e})")))?;
        tagger.check().map_err(corrupt)?;
        Ok(tagger)
    }

    /// Shapes agree (so decoding never indexes out of bounds), labels are BIO
    /// labels, numbers are finite.
    fn check(&self) -> Result<(), String> {
        let n = self.labels.len();
        if !self.labels.iter().any(|l| l == "O") {
            return Err("its label set has no outside label `O`".into());
        }
        if let Some(bad) = self
            .labels
            .iter()
            .find(|l| *l != "O" && !l.starts_with("B-") && !l.starts_with("I-"))
        {
            return Err(format!("its label `{bad}` is not a BIO label"));
        }
        let rows = self.sparse.len() / n;
        if !self.sparse.len().is_multiple_of(n)
            || self.features.values().any(|&row| row as usize >= rows)
        {
            return Err("its feature table points outside its weights".into());
        }
        if Some(self.dense.len()) != self.dense_dim.checked_mul(n) {
            return Err("its word-vector weights do not match their dimension".into());
        }
        if !crate::artifact::all_finite(&self.sparse)
            || !crate::artifact::all_finite(&self.dense)
            || !self.dense_weight.is_finite()
        {
            return Err("it holds weights that are not finite numbers".into());
        }
        Ok(())
    }
}
