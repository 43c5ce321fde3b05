//! Training the intent model from labelled texts.

use std::time::Instant;

use opsbot_spec::{EntityMatch, Project, OUT_OF_SCOPE};

use crate::classifier::SoftmaxRegression;
use crate::extract::EntityExtractor;
use crate::features::SparseFeaturizer;
use crate::model::{IntentModel, ModelMeta, NluConfig, MODEL_FORMAT, MODEL_FORMAT_VERSION};
use crate::understand::mask_bot_name;

/// Texts with their intent labels; out-of-scope examples carry [`OUT_OF_SCOPE`].
#[derive(Debug, Clone, Default)]
pub struct TrainingData {
    pub texts: Vec<String>,
    pub labels: Vec<String>,
}

impl TrainingData {
    pub fn from_project(project: &Project) -> TrainingData {
        let mut data = TrainingData::default();
        let name = &project.settings.name;
        for intent in project.intents.values() {
            for example in &intent.examples {
                data.push(&mask_bot_name(&example.text, name), &intent.name);
            }
        }
        for example in &project.out_of_scope {
            data.push(&mask_bot_name(&example.text, name), OUT_OF_SCOPE);
        }
        data
    }

    pub fn push(&mut self, text: &str, label: &str) {
        self.texts.push(text.to_string());
        self.labels.push(label.to_string());
    }

    pub fn len(&self) -> usize {
        self.texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Distinct labels, sorted.
    pub fn classes(&self) -> Vec<String> {
        let mut classes = self.labels.clone();
        classes.sort();
        classes.dedup();
        classes
    }

    pub fn subset(&self, indices: &[usize]) -> TrainingData {
        TrainingData {
            texts: indices.iter().map(|&i| self.texts[i].clone()).collect(),
            labels: indices.iter().map(|&i| self.labels[i].clone()).collect(),
        }
    }
}

/// Progress of a training run, for progress bars.
#[derive(Debug, Clone, Copy)]
pub enum TrainProgress {
    Epoch { done: usize, total: usize },
}

/// Trains a model; `training_hash` identifies the data it came from.
pub fn train(
    data: &TrainingData,
    extractor: &EntityExtractor,
    config: &NluConfig,
    training_hash: &str,
    mut progress: impl FnMut(TrainProgress),
) -> IntentModel {
    let started = Instant::now();
    let entities: Vec<Vec<EntityMatch>> = data.texts.iter().map(|t| extractor.extract(t)).collect();
    let featurizer = SparseFeaturizer::fit(
        config.sparse.clone(),
        data.texts
            .iter()
            .map(String::as_str)
            .zip(entities.iter().map(Vec::as_slice)),
    );
    let classes = data.classes();
    let inputs: Vec<_> = data
        .texts
        .iter()
        .zip(&entities)
        .map(|(t, e)| featurizer.transform(t, e))
        .collect();
    let labels: Vec<usize> = data
        .labels
        .iter()
        .map(|l| classes.binary_search(l).expect("label among classes"))
        .collect();
    let total = config.train.epochs;
    let classifier = SoftmaxRegression::train(
        &inputs,
        &labels,
        classes.len(),
        featurizer.dimension(),
        &config.train,
        |done| progress(TrainProgress::Epoch { done, total }),
    );
    IntentModel {
        meta: ModelMeta {
            format: MODEL_FORMAT.into(),
            format_version: MODEL_FORMAT_VERSION,
            opsbot_version: env!("CARGO_PKG_VERSION").into(),
            training_hash: training_hash.into(),
            trained_at: chrono::Utc::now().to_rfc3339(),
            examples: data.len(),
            training_seconds: started.elapsed().as_secs_f64(),
            config: config.clone(),
        },
        classes,
        featurizer,
        classifier,
    }
}
