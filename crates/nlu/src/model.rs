//! The trained intent model and its versioned artifact on disk.
//!
//! The artifact records the format version it was written with and the hash of
//! the training files, so a model from another opsbot or from edited intents is
//! refused with a clear message instead of answering wrongly.

use std::path::Path;

use opsbot_spec::EntityMatch;
use serde::{Deserialize, Serialize};

use crate::classifier::{SoftmaxRegression, TrainConfig};
use crate::features::{SparseConfig, SparseFeaturizer, SparseVec};
use crate::NluError;

pub const MODEL_FORMAT: &str = "opsbot-intent-model";
/// Bumped whenever the artifact's meaning changes; older files must be retrained.
pub const MODEL_FORMAT_VERSION: u32 = 1;
/// File name of the intent model inside `models/`.
pub const MODEL_FILE: &str = "intent-model.json";

/// Everything that shapes a trained model.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct NluConfig {
    pub sparse: SparseConfig,
    pub train: TrainConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelMeta {
    pub format: String,
    pub format_version: u32,
    pub opsbot_version: String,
    /// Hash of the training files (see `opsbot_spec::training_hash`).
    pub training_hash: String,
    pub trained_at: String,
    pub examples: usize,
    pub training_seconds: f64,
    pub config: NluConfig,
}

/// A source of classifier features. The sparse n-gram featuriser is built in; the
/// sentence encoder of the transformer NLU plugs in here as another source.
pub trait FeatureSource: Send + Sync {
    /// Stable name recorded in the model, so a model is only used with its sources.
    fn name(&self) -> &str;
    fn dimension(&self) -> usize;
    fn features(&self, text: &str, entities: &[EntityMatch]) -> SparseVec;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntentModel {
    pub meta: ModelMeta,
    pub classes: Vec<String>,
    pub featurizer: SparseFeaturizer,
    pub classifier: SoftmaxRegression,
}

impl IntentModel {
    /// The classifier's input: the sparse features (dense sources append after them).
    pub fn features(&self, text: &str, entities: &[EntityMatch]) -> SparseVec {
        self.featurizer.transform(text, entities)
    }

    /// (class name, probability), most likely first.
    pub fn rank(&self, text: &str, entities: &[EntityMatch]) -> Vec<(String, f32)> {
        let probs = self
            .classifier
            .probabilities(&self.features(text, entities));
        let mut ranked: Vec<(String, f32)> = self.classes.iter().cloned().zip(probs).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked
    }

    /// Writes the artifact atomically (temporary file, then rename), so a running
    /// bot never reads a half-written model.
    pub fn save(&self, path: &Path) -> Result<(), NluError> {
        let io = |source| NluError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(self).map_err(|e| NluError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    pub fn load(path: &Path) -> Result<IntentModel, NluError> {
        let bytes = std::fs::read(path).map_err(|source| {
            if source.kind() == std::io::ErrorKind::NotFound {
                NluError::Missing {
                    path: path.to_path_buf(),
                }
            } else {
                NluError::Io {
                    path: path.to_path_buf(),
                    source,
                }
            }
        })?;
        #[derive(Deserialize)]
        struct Header {
            meta: HeaderMeta,
        }
        #[derive(Deserialize)]
        struct HeaderMeta {
            format: String,
            format_version: u32,
            opsbot_version: String,
        }
        let corrupt = |e: serde_json::Error| NluError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        };
        let header: Header = serde_json::from_slice(&bytes).map_err(corrupt)?;
        if header.meta.format != MODEL_FORMAT || header.meta.format_version != MODEL_FORMAT_VERSION
        {
            return Err(NluError::Version {
                path: path.to_path_buf(),
                found: format!(
                    "{} v{} (opsbot {})",
                    header.meta.format, header.meta.format_version, header.meta.opsbot_version
                ),
                expected: format!("{MODEL_FORMAT} v{MODEL_FORMAT_VERSION}"),
            });
        }
        serde_json::from_slice(&bytes).map_err(corrupt)
    }
}
