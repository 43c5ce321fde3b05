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
    bot_name: String,
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
            bot_name: project.settings.name.clone(),
        }
    }

    pub fn model(&self) -> &IntentModel {
        &self.model
    }

    pub fn understand(&self, text: &str) -> Understanding {
        // Values come from the original text; only the classifier sees the mask
        // (same length, so the entity spans fit both).
        let entities = self.extractor.extract(text);
        let content = mask_bot_name(text, &self.bot_name);
        let ranked = self.model.rank(&content, &entities);
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

/// Blanks out the bot's name where it is a word of its own: addressing the bot
/// says nothing about what is asked. Same length, so entity offsets still hold.
pub fn mask_bot_name(text: &str, name: &str) -> String {
    if name.is_empty() {
        return text.to_string();
    }
    let lower = text.to_ascii_lowercase();
    let name = name.to_ascii_lowercase();
    let mut out = text.to_string();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let mut from = 0;
    while let Some(pos) = lower[from..].find(&name) {
        let start = from + pos;
        let end = start + name.len();
        if !is_word(lower[..start].chars().next_back()) && !is_word(lower[end..].chars().next()) {
            out.replace_range(start..end, &" ".repeat(name.len()));
        }
        from = end;
    }
    out
}

fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::mask_bot_name;

    #[test]
    fn bot_name_is_blanked_as_a_word_only() {
        assert_eq!(mask_bot_name("hello OpsBot!", "opsbot"), "hello       !");
        assert_eq!(mask_bot_name("opsbots", "opsbot"), "opsbots");
    }
}
