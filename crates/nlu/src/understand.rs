//! The NLU's answer for one message, and the engine that produces it.

use std::path::Path;

use opsbot_spec::{EntityMatch, Project, OUT_OF_SCOPE};
use serde::{Deserialize, Serialize};

use crate::extract::EntityExtractor;
use crate::model::IntentModel;
use crate::NluError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntentGuess {
    pub name: String,
    pub confidence: f32,
}

/// What the NLU understood of one message. The dialog engine sees only this.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Understanding {
    pub text: String,
    /// The intent, when one is confident enough and not out of scope.
    pub intent: Option<IntentGuess>,
    /// The best few classes, most likely first (may include out of scope).
    pub ranking: Vec<IntentGuess>,
    pub entities: Vec<EntityMatch>,
}

impl Understanding {
    /// A message nobody classified (tests, and adapters that bypass the NLU).
    pub fn unclassified(text: &str) -> Understanding {
        Understanding {
            text: text.to_string(),
            intent: None,
            ranking: Vec::new(),
            entities: Vec::new(),
        }
    }
}

/// Intent classification plus entity extraction, ready to answer messages.
#[derive(Debug, Clone)]
pub struct Nlu {
    extractor: EntityExtractor,
    model: IntentModel,
    threshold: f32,
}

impl Nlu {
    /// Loads the model for `project`, refusing one trained on other data.
    pub fn load(project: &Project, model_path: &Path) -> Result<Nlu, NluError> {
        let model = IntentModel::load(model_path)?;
        if model.meta.training_hash != project.training_hash {
            return Err(NluError::Stale {
                path: model_path.to_path_buf(),
                trained_on: short(&model.meta.training_hash),
                current: short(&project.training_hash),
            });
        }
        Ok(Nlu::new(project, model))
    }

    pub fn new(project: &Project, model: IntentModel) -> Nlu {
        Nlu {
            extractor: EntityExtractor::new(project),
            model,
            threshold: project.settings.confidence_threshold,
        }
    }

    pub fn model(&self) -> &IntentModel {
        &self.model
    }

    pub fn understand(&self, text: &str) -> Understanding {
        let entities = self.extractor.extract(text);
        let ranked = self.model.rank(text, &entities);
        let ranking: Vec<IntentGuess> = ranked
            .into_iter()
            .take(3)
            .map(|(name, confidence)| IntentGuess { name, confidence })
            .collect();
        let intent = ranking
            .first()
            .filter(|best| best.name != OUT_OF_SCOPE && best.confidence >= self.threshold)
            .cloned();
        Understanding {
            text: text.to_string(),
            intent,
            ranking,
            entities,
        }
    }
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}
