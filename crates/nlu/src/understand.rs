//! The NLU's answer for one message, and the engine that produces it.

use std::path::Path;
use std::sync::Arc;

use opsbot_spec::{EntityMatch, Project, OUT_OF_SCOPE};
use serde::{Deserialize, Serialize};

use crate::extract::EntityExtractor;
use crate::model::{decide, IntentModel};
use crate::near_miss::{RequestWord, ServedWords};
use crate::stale::Staleness;
use crate::tagger::{self, Tagger};
pub use crate::text::mask_bot_name;
use crate::{NluError, SentenceEncoder};

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
    /// Two intents too close to choose between, most likely first; empty when
    /// the message is clear. The dialog engine asks which one was meant.
    #[serde(default)]
    pub ambiguous: Vec<IntentGuess>,
    pub entities: Vec<EntityMatch>,
    /// The request word no example uses ("upgrade …"): the message was
    /// refused as a near miss, whatever the ranking says.
    #[serde(default)]
    pub unserved: Option<String>,
    /// Words no example or value uses, outside the values found.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unknown: Vec<String>,
    /// The intent was read, but the message asks for it in a word no example
    /// uses ("bounce apache"), or in no words at all ("something is wrong
    /// with apache"): the engine asks whether the intent was meant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsure: Option<Unsure>,
    /// Not understood, but the likeliest intent is clearly ahead of the rest,
    /// only below the threshold (in the band training found its one option
    /// more often right than not): nothing starts; the engine asks "Did you
    /// mean to …?" instead of refusing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meant: Option<IntentGuess>,
}

/// Why a reading is asked about before it starts anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsure {
    /// The request word no example uses; none when the message states a
    /// problem without asking anything in words.
    pub word: Option<String>,
}

impl Understanding {
    /// A message nobody classified (tests, and adapters that bypass the NLU).
    pub fn unclassified(text: &str) -> Understanding {
        Understanding {
            text: text.to_string(),
            intent: None,
            ranking: Vec::new(),
            ambiguous: Vec::new(),
            unserved: None,
            unknown: Vec::new(),
            unsure: None,
            meant: None,
            entities: Vec::new(),
        }
    }

    /// In-scope intents from the ranking, most likely first.
    pub fn nearest_intents(&self) -> impl Iterator<Item = &IntentGuess> {
        self.ranking.iter().filter(|g| g.name != OUT_OF_SCOPE)
    }
}

/// Intent classification plus entity extraction, ready to answer messages.
#[derive(Clone)]
pub struct Nlu {
    extractor: EntityExtractor,
    model: IntentModel,
    encoder: Option<Arc<dyn SentenceEncoder>>,
    tagger: Option<Arc<Tagger>>,
    threshold: f32,
    ambiguity_margin: f32,
    bot_name: String,
    /// What the project's requests start with (near misses are refused).
    served: Arc<ServedWords>,
    /// Set when the model was trained before `intents/` last changed.
    stale: Option<Staleness>,
}

impl std::fmt::Debug for Nlu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nlu")
            .field("model", &self.model.meta)
            .field(
                "encoder",
                &self.encoder.as_ref().map(|e| e.id().to_string()),
            )
            .field("threshold", &self.threshold)
            .finish()
    }
}

impl Nlu {
    /// Loads the model for `project`, refusing one trained on other data or for
    /// another encoder than `encoder`: for the commands that judge the model.
    pub fn load(
        project: &Project,
        model_path: &Path,
        encoder: Option<Arc<dyn SentenceEncoder>>,
    ) -> Result<Nlu, NluError> {
        Nlu::open(project, model_path, encoder, false)
    }

    /// Loads the model for `project` to serve it: one trained before
    /// `intents/` last changed is taken (see [`Nlu::stale`]), since a bot
    /// with the last good model beats no bot; one for another encoder is not.
    pub fn load_serving(
        project: &Project,
        model_path: &Path,
        encoder: Option<Arc<dyn SentenceEncoder>>,
    ) -> Result<Nlu, NluError> {
        Nlu::open(project, model_path, encoder, true)
    }

    fn open(
        project: &Project,
        model_path: &Path,
        encoder: Option<Arc<dyn SentenceEncoder>>,
        stale_ok: bool,
    ) -> Result<Nlu, NluError> {
        let model = IntentModel::load(model_path)?;
        let stale = Staleness::of(project, &model, model_path.to_path_buf());
        if let (Some(stale), false) = (&stale, stale_ok) {
            return Err(NluError::Stale {
                path: model_path.to_path_buf(),
                trained_on: stale.trained_on.clone(),
                current: stale.current.clone(),
            });
        }
        let nlu = Nlu::new(project, model, encoder).map_err(|e| match e {
            NluError::EncoderMismatch { needs, have, .. } => NluError::EncoderMismatch {
                path: model_path.to_path_buf(),
                needs,
                have,
            },
            other => other,
        })?;
        Ok(Nlu { stale, ..nlu })
    }

    /// How the model differs from the project, when it was trained before
    /// `intents/` last changed and is served anyway.
    pub fn stale(&self) -> Option<&Staleness> {
        self.stale.as_ref()
    }

    pub fn new(
        project: &Project,
        model: IntentModel,
        encoder: Option<Arc<dyn SentenceEncoder>>,
    ) -> Result<Nlu, NluError> {
        let have = encoder.as_ref().map(|e| e.id().to_string());
        if model.meta.encoder.is_some() && model.meta.encoder != have {
            return Err(NluError::EncoderMismatch {
                path: Default::default(),
                needs: model.meta.encoder.clone().unwrap_or_default(),
                have: have.unwrap_or_else(|| "none".into()),
            });
        }
        // A model trained without embeddings ignores an encoder.
        let encoder = if model.meta.encoder.is_some() {
            encoder
        } else {
            None
        };
        Ok(Nlu {
            extractor: EntityExtractor::new(project),
            threshold: project
                .settings
                .confidence_threshold
                .unwrap_or(model.meta.calibration.threshold),
            ambiguity_margin: project.settings.ambiguity_margin,
            model,
            encoder,
            tagger: None,
            bot_name: project.settings.name.clone(),
            served: Arc::new(ServedWords::from_project(project)),
            stale: None,
        })
    }

    /// Adds the trained slot tagger; one that needs word vectors from another
    /// encoder than this NLU's (or from none) is refused.
    pub fn with_tagger(mut self, tagger: Tagger, path: &Path) -> Result<Nlu, NluError> {
        let have = self.encoder.as_ref().map(|e| e.id().to_string());
        if tagger.needs_encoder() && tagger.encoder().map(str::to_string) != have {
            return Err(NluError::EncoderMismatch {
                path: path.to_path_buf(),
                needs: tagger.encoder().unwrap_or("none").to_string(),
                have: have.unwrap_or_else(|| "none".into()),
            });
        }
        self.tagger = Some(Arc::new(tagger));
        Ok(self)
    }

    pub fn tagger(&self) -> Option<&Tagger> {
        self.tagger.as_deref()
    }

    pub fn model(&self) -> &IntentModel {
        &self.model
    }

    /// The probability below which a message is taken as out of scope.
    pub fn threshold(&self) -> f32 {
        self.threshold
    }

    pub fn understand(&self, text: &str) -> Understanding {
        // Values come from the original text; only the classifier sees the mask
        // (same length, so the entity spans fit both).
        let found = self.extractor.find(text);
        let candidates = found.matches;
        let entities = opsbot_spec::entity::remove_overlaps(candidates.clone());
        let content = mask_bot_name(text, &self.bot_name);
        let tagging = self.tagger.as_ref().filter(|t| t.needs_encoder()).is_some();
        // With a tagger, one pass of the encoder gives the sentence embedding
        // and the word vectors.
        let encoded = match &self.encoder {
            Some(encoder) if tagging => {
                let spans = tagger::words(&content);
                encoder
                    .encode_words(&[(content.as_str(), spans.as_slice())])
                    .map(|mut e| e.pop().map(|w| (w.sentence, w.words)))
            }
            Some(encoder) => encoder
                .encode(&[content.as_str()])
                .map(|mut e| e.pop().map(|s| (s, Vec::new()))),
            None => Ok(None),
        };
        let (embedding, word_vectors) = match encoded {
            Ok(Some((sentence, words))) => (Some(sentence), words),
            Ok(None) => (None, Vec::new()),
            Err(error) => {
                // Without the embedding the sparse features still classify,
                // less well; better than not answering.
                tracing::error!(%error, "sentence encoder failed; classifying on n-grams only");
                (None, Vec::new())
            }
        };
        let mut ranked = self.model.rank(&content, &entities, embedding.as_deref());
        if let Some(stale) = &self.stale {
            // An intent the project no longer has is never an answer.
            ranked.retain(|(name, _)| !stale.removed.contains(name));
        }
        let (mut decision, _) = decide(&ranked, self.threshold);
        let unfamiliar = self.model.featurizer.known_words(&content, &entities) == 0;
        if unfamiliar {
            decision = OUT_OF_SCOPE.to_string();
        }
        let judged = match decision.as_str() {
            OUT_OF_SCOPE => RequestWord::Fits,
            intent => self.served.judge(&content, &entities, intent),
        };
        let unserved = match &judged {
            RequestWord::Unserved(word) => Some(word.clone()),
            _ => None,
        };
        if unserved.is_some() {
            decision = OUT_OF_SCOPE.to_string();
        }
        let guesses: Vec<IntentGuess> = ranked
            .into_iter()
            .map(|(name, confidence)| IntentGuess { name, confidence })
            .collect();
        let intent = guesses
            .iter()
            .find(|g| g.name == decision && decision != OUT_OF_SCOPE)
            .cloned();
        let mut unsure = match &judged {
            RequestWord::Unsure(word) => Some(Unsure { word: word.clone() }),
            _ => None,
        };
        let meant = match (&intent, unfamiliar, &unserved) {
            (None, false, None) => self.meant(&guesses, &content, &entities),
            _ => None,
        };
        let meant = meant.map(|(guess, word)| {
            unsure = word.map(|w| Unsure { word: Some(w) });
            guess
        });
        let ambiguous = if unfamiliar || unserved.is_some() {
            Vec::new()
        } else {
            let mut pair = self.either_or(&content, &entities);
            if let (true, RequestWord::Another(other)) = (pair.is_empty(), &judged) {
                // Read as one intent but worded as another's: ask.
                pair = [decision.as_str(), other.as_str()]
                    .iter()
                    .filter_map(|name| guesses.iter().find(|g| g.name == *name).cloned())
                    .collect();
            }
            if pair.len() < 2 {
                ambiguous_pair(&guesses, self.ambiguity_margin, self.threshold)
            } else {
                pair
            }
        };
        // The classifier was trained on exact matches without overlaps, so it
        // sees only those; the dialog gets every reading and the tagger's finds.
        let entities = match &self.tagger {
            Some(tagger) if !tagger.needs_encoder() || !word_vectors.is_empty() => {
                let tagged = tagger.tag(&content, &word_vectors);
                self.extractor.with_tagged(text, candidates, &tagged)
            }
            _ => candidates,
        };
        Understanding {
            text: text.to_string(),
            intent,
            ranking: guesses.into_iter().take(3).collect(),
            ambiguous,
            unknown: partial_tokens(text, &found.partial, &entities)
                .chain(self.served.unknown_words(text, &entities))
                .collect(),
            entities,
            unserved,
            unsure,
            meant,
        }
    }

    /// The intent to ask about when nothing was understood: the likeliest
    /// class, an intent ahead of the next class by the ambiguity margin, and
    /// either at least `ask_from` likely and asked for in words its requests
    /// use, or asked for in one word no example uses with every other word
    /// the intent's ("refresh the certificate for shop": the new word is
    /// what made the classifier unsure, and the book promises a question
    /// for it); with that word. A near miss stays refused.
    fn meant(
        &self,
        guesses: &[IntentGuess],
        content: &str,
        entities: &[EntityMatch],
    ) -> Option<(IntentGuess, Option<String>)> {
        let top = guesses.first()?;
        let next = guesses.get(1).map_or(0.0, |g| g.confidence);
        if top.name == OUT_OF_SCOPE
            || top.confidence >= self.threshold
            || top.confidence - next < self.ambiguity_margin
        {
            return None;
        }
        // Where training found the question worth asking (none: nowhere).
        let in_band = self
            .model
            .meta
            .calibration
            .ask_from
            .is_some_and(|from| top.confidence >= from);
        match self.served.judge(content, entities, &top.name) {
            RequestWord::Unsure(Some(word)) => Some((top.clone(), Some(word))),
            RequestWord::Fits | RequestWord::Unsure(None) if in_band => Some((top.clone(), None)),
            _ => None,
        }
    }
}

/// The tokens only part of which a finder matched (`d\u{200B}b-01`,
/// `1,000.00`), outside every value found: first among the words not
/// understood, so the engine names the token back instead of taking a part.
fn partial_tokens<'t>(
    text: &'t str,
    partial: &'t [(usize, usize)],
    entities: &'t [EntityMatch],
) -> impl Iterator<Item = String> + 't {
    partial
        .iter()
        .filter(|&&(start, end)| !entities.iter().any(|m| m.start < end && start < m.end))
        .map(|&(start, end)| text[start..end].to_string())
}

impl Nlu {
    /// "back up or restore orders": when the words before and after an "or"
    /// read as two different intents, both are meant as options, however sure
    /// the whole message looked; the engine asks which. Empty otherwise.
    fn either_or(&self, content: &str, entities: &[EntityMatch]) -> Vec<IntentGuess> {
        let lower = content.to_ascii_lowercase();
        let Some(at) = lower.find(" or ") else {
            return Vec::new();
        };
        if entities.iter().any(|m| m.start <= at && at < m.end) {
            return Vec::new();
        }
        let sides = [content[..at].trim(), content[at + 4..].trim()];
        if sides.iter().any(|s| s.is_empty()) {
            return Vec::new();
        }
        let embeddings = match &self.encoder {
            Some(encoder) => match encoder.encode(&sides) {
                Ok(e) if e.len() == 2 => e.into_iter().map(Some).collect(),
                _ => return Vec::new(),
            },
            None => vec![None, None],
        };
        let mut guesses = Vec::new();
        for (side, embedding) in sides.iter().zip(embeddings) {
            let found = opsbot_spec::entity::remove_overlaps(self.extractor.candidates(side));
            let ranked = self.model.rank(side, &found, embedding.as_deref());
            let (name, confidence) = decide(&ranked, self.threshold);
            if name == OUT_OF_SCOPE || self.model.featurizer.known_words(side, &found) == 0 {
                return Vec::new();
            }
            guesses.push(IntentGuess { name, confidence });
        }
        if guesses[0].name == guesses[1].name {
            return Vec::new();
        }
        guesses
    }
}

/// The two likeliest intents, when they are within `margin` of each other and
/// together likely enough (at least the threshold, and at least even odds) that
/// one of them was surely meant. Empty when out of scope is the likeliest.
pub fn ambiguous_pair(ranked: &[IntentGuess], margin: f32, threshold: f32) -> Vec<IntentGuess> {
    if ranked.first().is_some_and(|g| g.name == OUT_OF_SCOPE) {
        return Vec::new();
    }
    let mut in_scope = ranked.iter().filter(|g| g.name != OUT_OF_SCOPE);
    match (in_scope.next(), in_scope.next()) {
        (Some(first), Some(second))
            if first.confidence - second.confidence < margin
                && first.confidence + second.confidence >= threshold.max(0.5) =>
        {
            vec![first.clone(), second.clone()]
        }
        _ => Vec::new(),
    }
}

#[cfg(test)]
#[path = "understand_tests.rs"]
mod tests;
