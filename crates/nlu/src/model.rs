//! The trained intent model and its versioned artifact on disk.
//!
//! The artifact starts with a readable JSON header (format version, the hash of
//! the training files, the encoder it needs, its metrics), then the weights in
//! bincode. A model from another opsbot, from edited intents or for another
//! encoder is refused with a clear message instead of answering wrongly.

use std::path::Path;

use opsbot_spec::{EntityMatch, ThresholdTarget, OUT_OF_SCOPE};
use serde::{Deserialize, Serialize};

use crate::artifact;
use crate::classifier::{softmax_in_place, SoftmaxRegression, TrainConfig};
use crate::features::{SparseConfig, SparseFeaturizer, SparseVec};
use crate::neighbours::Neighbours;
use crate::prototype::Prototypes;
use crate::reliability::Reliability;
use crate::NluError;

pub const MODEL_FORMAT: &str = "opsbot-intent-model";
/// Bumped whenever the artifact's meaning changes; older files must be retrained.
pub const MODEL_FORMAT_VERSION: u32 = 4;
/// File name of the intent model inside `models/`.
pub const MODEL_FILE: &str = "intent-model.bin";
const MAGIC: &[u8] = b"OPSBOT-MODEL\n";

/// Everything that shapes a trained model.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NluConfig {
    pub sparse: SparseConfig,
    pub train: TrainConfig,
    /// Scale of the sentence embedding beside the sparse groups (each of unit length).
    pub dense_weight: f32,
    /// Share of the examples held out for early stopping and calibration when no
    /// validation data is given.
    pub validation_share: f32,
    /// Epochs without a better held-out loss before training stops.
    pub patience: usize,
    /// Folds of the cross-validation that chooses the epochs and calibrates
    /// when a single hold-out would be too small to trust (0: never).
    pub cross_validation_folds: usize,
    /// A hold-out of fewer examples than this is too small: cross-validate instead.
    pub cross_validate_below: usize,
    /// Weights of the nearest-prototype head tried on the held-out readings;
    /// the one with the best likelihood is kept (0 turns the head off).
    pub prototype_weights: Vec<f32>,
    /// Weights of the nearest-example head tried beside each prototype
    /// weight, chosen the same way (empty or 0 alone: no such head, as in
    /// models trained before it).
    #[serde(default)]
    pub neighbour_weights: Vec<f32>,
    /// How the threshold is chosen (from `threshold_target:` in `opsbot.yaml`).
    pub threshold_target: ThresholdTarget,
    /// Projects with at least this many examples retrain after a small edit
    /// from the previous weights (see `train::warm`).
    pub warm_start_from: usize,
    /// ... while the examples new since the last full training are at most
    /// this share of all.
    pub warm_start_max_share: f32,
    pub warm_epochs: usize,
    /// Share of the learning rate for the warm epochs.
    pub warm_learning_rate: f32,
}

impl NluConfig {
    /// Training as it was before cross-validation and prototypes: early
    /// stopping and calibration on one stratified 10 % hold-out, linear head
    /// only. Kept for the benchmark's "before" column.
    pub fn single_hold_out() -> NluConfig {
        NluConfig {
            cross_validation_folds: 0,
            prototype_weights: vec![0.0],
            neighbour_weights: vec![0.0],
            ..NluConfig::default()
        }
    }
}

impl Default for NluConfig {
    fn default() -> Self {
        NluConfig {
            sparse: SparseConfig::default(),
            train: TrainConfig::default(),
            // Chosen on CLINC150's validation split (`make bench`).
            dense_weight: 3.0,
            validation_share: 0.1,
            patience: 3,
            cross_validation_folds: 5,
            // 10 % held out: data sets under 10,000 examples are cross-validated.
            cross_validate_below: 1000,
            prototype_weights: vec![0.0, 2.0, 5.0, 10.0, 20.0, 40.0],
            neighbour_weights: vec![0.0, 2.0, 5.0, 10.0, 20.0, 40.0],
            threshold_target: ThresholdTarget::Balanced,
            warm_start_from: 2000,
            warm_start_max_share: 0.01,
            warm_epochs: 2,
            warm_learning_rate: 0.2,
        }
    }
}

/// How probabilities are made honest and where "I don't know" starts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Calibration {
    /// Logits are divided by this before the softmax (fitted on held-out data).
    pub temperature: f32,
    /// Below this probability for the best in-scope intent, the message is out of scope.
    pub threshold: f32,
    /// How the threshold was chosen, for people reading the model's header.
    pub threshold_rule: String,
    /// From this probability up to the threshold, a message whose likeliest
    /// class is an intent, clearly ahead, is asked about ("Did you mean to
    /// …?") instead of refused. Chosen out of fold; `None`: never (too few
    /// readings to tell, no out-of-scope examples, or an older model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ask_from: Option<f32>,
}

impl Default for Calibration {
    fn default() -> Self {
        Calibration {
            temperature: 1.0,
            threshold: 0.5,
            threshold_rule: "default".into(),
            ask_from: None,
        }
    }
}

/// Figures measured on the held-out data while training.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TrainMetrics {
    pub validation_examples: usize,
    /// Share of held-out in-scope examples classified right and above the threshold.
    pub in_scope_accuracy: f64,
    /// Share of held-out out-of-scope examples recognised as such (None: none held out).
    pub out_of_scope_recall: Option<f64>,
    /// Epoch whose weights were kept.
    pub best_epoch: usize,
    pub epochs_run: usize,
    /// Sentences the encoder network had to encode (the rest came from the cache).
    pub encoded: usize,
    /// Sentences embedded in all, from the network or the cache.
    pub embedded: usize,
    /// How the held-out readings were made: "5-fold cross-validation" or "hold-out".
    pub method: String,
    /// Share of the held-out messages read right that the threshold refuses.
    pub refused_right: f64,
    /// Calibration of the held-out readings at the fitted temperature.
    pub reliability: Reliability,
    /// Sentences new since the last full training (warm starts add up).
    pub new_since_full_training: usize,
    /// Share of the held-out messages read right that the threshold refuses
    /// but "Did you mean to …?" offers (see [`Calibration::ask_from`]).
    #[serde(default)]
    pub asked_right: f64,
    /// Share of those questions whose one option is the right intent.
    #[serde(default)]
    pub questions_right: f64,
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
    pub intents: usize,
    pub training_seconds: f64,
    /// The sentence encoder whose embeddings the model was trained on.
    pub encoder: Option<String>,
    /// Its folder under `models/` (a fine-tuned encoder has its own).
    #[serde(default)]
    pub encoder_dir: Option<String>,
    pub config: NluConfig,
    pub calibration: Calibration,
    pub metrics: TrainMetrics,
}

/// Where the sentence embedding sits in the classifier's input.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DenseFeatures {
    pub dimension: usize,
    /// Index of the embedding's first component (after the sparse features).
    pub offset: u32,
    pub weight: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IntentModel {
    pub meta: ModelMeta,
    pub classes: Vec<String>,
    pub featurizer: SparseFeaturizer,
    pub dense: Option<DenseFeatures>,
    pub classifier: SoftmaxRegression,
    /// Class means of the sentence embeddings (with an encoder).
    pub prototypes: Option<Prototypes>,
    /// The labelled examples' embeddings, for the nearest-example head.
    pub neighbours: Option<Neighbours>,
}

#[derive(Serialize, Deserialize)]
struct Body {
    classes: Vec<String>,
    featurizer: SparseFeaturizer,
    dense: Option<DenseFeatures>,
    classifier: SoftmaxRegression,
    prototypes: Option<Prototypes>,
    neighbours: Option<Neighbours>,
}

/// The body of a model trained before the nearest-example head: still read,
/// so an upgrade never stops a bot from serving the model it has.
#[derive(Deserialize)]
struct BodyBeforeNeighbours {
    classes: Vec<String>,
    featurizer: SparseFeaturizer,
    dense: Option<DenseFeatures>,
    classifier: SoftmaxRegression,
    prototypes: Option<Prototypes>,
}

impl Body {
    fn decode(bytes: &[u8]) -> Result<Body, bincode::Error> {
        bincode::deserialize(bytes).or_else(|error| {
            let old: BodyBeforeNeighbours = bincode::deserialize(bytes).map_err(|_| error)?;
            Ok(Body {
                classes: old.classes,
                featurizer: old.featurizer,
                dense: old.dense,
                classifier: old.classifier,
                prototypes: old.prototypes,
                neighbours: None,
            })
        })
    }
}

impl IntentModel {
    /// The classifier's input: sparse features, then the scaled embedding.
    pub fn input(
        &self,
        text: &str,
        entities: &[EntityMatch],
        embedding: Option<&[f32]>,
    ) -> SparseVec {
        let mut input = self.featurizer.transform(text, entities);
        if let (Some(dense), Some(embedding)) = (&self.dense, embedding) {
            input.extend(
                embedding
                    .iter()
                    .take(dense.dimension)
                    .enumerate()
                    .map(|(i, v)| (dense.offset + i as u32, v * dense.weight)),
            );
        }
        input
    }

    /// Calibrated class probabilities, in the order of `classes`.
    pub fn probabilities(&self, input: &SparseVec, embedding: Option<&[f32]>) -> Vec<f32> {
        let mut out = vec![0.0; self.classes.len()];
        self.classifier.logits_into(input, &mut out);
        if let (Some(prototypes), Some(embedding)) = (&self.prototypes, embedding) {
            prototypes.add_to(embedding, &mut out);
        }
        if let (Some(neighbours), Some(embedding)) = (&self.neighbours, embedding) {
            neighbours.add_to(embedding, &mut out);
        }
        softmax_in_place(&mut out, self.meta.calibration.temperature);
        out
    }

    /// (class name, probability), most likely first.
    pub fn rank(
        &self,
        text: &str,
        entities: &[EntityMatch],
        embedding: Option<&[f32]>,
    ) -> Vec<(String, f32)> {
        let probs = self.probabilities(&self.input(text, entities, embedding), embedding);
        rank_classes(&self.classes, &probs)
    }

    /// The decision at the model's threshold: the best in-scope class if it is
    /// likely enough and out of scope is not likelier, else [`OUT_OF_SCOPE`].
    pub fn decide(&self, ranked: &[(String, f32)]) -> (String, f32) {
        decide(ranked, self.meta.calibration.threshold)
    }

    /// Writes the artifact atomically with a checksum (see [`crate::artifact`]),
    /// so a running bot never reads a half-written or damaged model.
    pub fn save(&self, path: &Path) -> Result<(), NluError> {
        let corrupt = |reason: String| NluError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let header = serde_json::to_vec_pretty(&self.meta).map_err(|e| corrupt(e.to_string()))?;
        let body = bincode::serialize(&BodyRef {
            classes: &self.classes,
            featurizer: &self.featurizer,
            dense: &self.dense,
            classifier: &self.classifier,
            prototypes: &self.prototypes,
            neighbours: &self.neighbours,
        })
        .map_err(|e| corrupt(e.to_string()))?;
        artifact::write(path, MAGIC, &header, &body)
    }

    /// Reads only the header: what a model was trained on and how well it did.
    pub fn load_meta(path: &Path) -> Result<ModelMeta, NluError> {
        let artifact = artifact::read(path, MAGIC, "an opsbot intent model")?;
        parse_header(path, artifact.header())
    }

    /// Reads a model, checking its checksum, its shape and that every weight is
    /// a finite number.
    pub fn load(path: &Path) -> Result<IntentModel, NluError> {
        let artifact = artifact::read(path, MAGIC, "an opsbot intent model")?;
        let meta = parse_header(path, artifact.header())?;
        let body = Body::decode(artifact.body()).map_err(|e| NluError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the weights do not decode ({e})"),
        })?;
        let model = IntentModel {
            meta,
            classes: body.classes,
            featurizer: body.featurizer,
            dense: body.dense,
            classifier: body.classifier,
            prototypes: body.prototypes,
            neighbours: body.neighbours,
        };
        model.check().map_err(|reason| NluError::Corrupt {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(model)
    }

    /// The model's own consistency: shapes agree, numbers are finite.
    pub fn check(&self) -> Result<(), String> {
        if self.classes.is_empty() || self.classes.len() != self.classifier.classes {
            return Err(format!(
                "it names {} classes but its classifier has {}",
                self.classes.len(),
                self.classifier.classes
            ));
        }
        self.classifier.check_shape()?;
        if let Some(dense) = &self.dense {
            if dense.offset as usize + dense.dimension > self.classifier.features
                || !dense.weight.is_finite()
            {
                return Err("its sentence-embedding block does not fit its weights".into());
            }
        }
        if let Some(prototypes) = &self.prototypes {
            prototypes.check(self.classes.len())?;
        }
        if let Some(neighbours) = &self.neighbours {
            neighbours.check(self.classes.len())?;
        }
        let calibration = &self.meta.calibration;
        let usable = calibration.temperature.is_finite()
            && calibration.temperature > 0.0
            && calibration.threshold.is_finite();
        if !usable {
            return Err("its calibration (temperature or threshold) is not a finite number".into());
        }
        Ok(())
    }
}

#[derive(Serialize)]
struct BodyRef<'a> {
    classes: &'a Vec<String>,
    featurizer: &'a SparseFeaturizer,
    dense: &'a Option<DenseFeatures>,
    classifier: &'a SoftmaxRegression,
    prototypes: &'a Option<Prototypes>,
    neighbours: &'a Option<Neighbours>,
}

/// Checks the format and version, and reads the header.
fn parse_header(path: &Path, header: &[u8]) -> Result<ModelMeta, NluError> {
    let corrupt = |reason: String| NluError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    #[derive(Deserialize)]
    struct Version {
        format: String,
        format_version: u32,
        opsbot_version: String,
    }
    let version: Version =
        serde_json::from_slice(header).map_err(|e| corrupt(format!("header: {e}")))?;
    if version.format != MODEL_FORMAT || version.format_version != MODEL_FORMAT_VERSION {
        return Err(NluError::Version {
            path: path.to_path_buf(),
            found: format!(
                "{} v{} (opsbot {})",
                version.format, version.format_version, version.opsbot_version
            ),
            expected: format!("{MODEL_FORMAT} v{MODEL_FORMAT_VERSION}"),
        });
    }
    serde_json::from_slice(header).map_err(|e| corrupt(format!("header: {e}")))
}

pub(crate) fn rank_classes(classes: &[String], probs: &[f32]) -> Vec<(String, f32)> {
    let mut ranked: Vec<(String, f32)> =
        classes.iter().cloned().zip(probs.iter().copied()).collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked
}

/// Best in-scope class when it clears `threshold` and out of scope is not the
/// likeliest; otherwise out of scope (with the best in-scope probability).
pub fn decide(ranked: &[(String, f32)], threshold: f32) -> (String, f32) {
    let best_in_scope = ranked.iter().find(|(c, _)| c != OUT_OF_SCOPE);
    let oos_first = ranked.first().is_some_and(|(c, _)| c == OUT_OF_SCOPE);
    match best_in_scope {
        Some((class, p)) if !oos_first && *p >= threshold => (class.clone(), *p),
        Some((_, p)) => (OUT_OF_SCOPE.to_string(), *p),
        None => (OUT_OF_SCOPE.to_string(), 0.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranked(items: &[(&str, f32)]) -> Vec<(String, f32)> {
        items.iter().map(|(c, p)| (c.to_string(), *p)).collect()
    }

    #[test]
    fn decisions_respect_threshold_and_the_out_of_scope_class() {
        let r = ranked(&[("restart", 0.7), (OUT_OF_SCOPE, 0.2), ("deploy", 0.1)]);
        assert_eq!(decide(&r, 0.5).0, "restart");
        assert_eq!(decide(&r, 0.8).0, OUT_OF_SCOPE);
        let r = ranked(&[(OUT_OF_SCOPE, 0.5), ("restart", 0.45)]);
        assert_eq!(decide(&r, 0.3).0, OUT_OF_SCOPE);
    }

    #[test]
    fn a_body_from_before_the_nearest_example_head_still_decodes() {
        let classes = vec!["a".to_string(), "b".to_string()];
        let featurizer = SparseFeaturizer::fit(SparseConfig::default(), std::iter::empty());
        let classifier = SoftmaxRegression::new(2, featurizer.dimension());
        let prototypes: Option<Prototypes> = None;
        let dense: Option<DenseFeatures> = None;
        // Bincode writes a struct as the tuple of its fields.
        let old =
            bincode::serialize(&(&classes, &featurizer, &dense, &classifier, &prototypes)).unwrap();
        let body = Body::decode(&old).unwrap();
        assert_eq!(body.classes, classes);
        assert!(body.neighbours.is_none());

        let mut neighbours = Neighbours::fit(2, 2, [(&[1.0, 0.0][..], 1)]);
        neighbours.weight = 5.0;
        let new = bincode::serialize(&BodyRef {
            classes: &classes,
            featurizer: &featurizer,
            dense: &dense,
            classifier: &classifier,
            prototypes: &prototypes,
            neighbours: &Some(neighbours.clone()),
        })
        .unwrap();
        assert_eq!(Body::decode(&new).unwrap().neighbours, Some(neighbours));
        assert!(Body::decode(&old[..old.len() - 1]).is_err(), "a cut body");
    }
}
