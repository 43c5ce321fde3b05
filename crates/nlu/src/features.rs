//! Sparse features of a message: word unigrams and bigrams, character n-grams
//! inside words, and the types of entities found (values replaced by `<entity>`,
//! so "restart tomcat on db-07" looks like the examples even with unseen values).
//!
//! Each feature group is L2-normalised on its own, so a long message's many
//! character n-grams do not drown its few words.

use std::collections::HashMap;

use opsbot_spec::EntityMatch;
use serde::{Deserialize, Serialize};

/// A sparse vector: (feature index, value), indices ascending and unique.
pub type SparseVec = Vec<(u32, f32)>;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SparseConfig {
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    pub word_bigrams: bool,
    /// Features seen fewer times in training are dropped.
    pub min_count: usize,
}

impl Default for SparseConfig {
    fn default() -> Self {
        SparseConfig {
            char_ngram_min: 2,
            char_ngram_max: 4,
            word_bigrams: true,
            min_count: 1,
        }
    }
}

/// Vocabulary-based featuriser fitted on the training texts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SparseFeaturizer {
    pub config: SparseConfig,
    vocabulary: HashMap<String, u32>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Group {
    Word,
    Char,
    Entity,
}

/// Lower-cased tokens with entity values replaced by `<entity>` placeholders.
fn tokens(text: &str, entities: &[EntityMatch]) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut cursor = 0;
    let push_words = |piece: &str, out: &mut Vec<(String, bool)>| {
        for word in piece
            .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_'))
            .filter(|w| !w.is_empty())
        {
            out.push((word.to_lowercase(), false));
        }
    };
    for m in entities {
        if m.start < cursor || m.end > text.len() {
            continue;
        }
        push_words(&text[cursor..m.start], &mut out);
        out.push((format!("<{}>", m.entity), true));
        cursor = m.end;
    }
    push_words(&text[cursor..], &mut out);
    out
}

fn raw_features(
    text: &str,
    entities: &[EntityMatch],
    config: &SparseConfig,
) -> Vec<(String, Group)> {
    let toks = tokens(text, entities);
    let mut features = Vec::new();
    for (tok, is_entity) in &toks {
        features.push((format!("w:{tok}"), Group::Word));
        if *is_entity {
            features.push((format!("e:{tok}"), Group::Entity));
            continue;
        }
        let padded: Vec<char> = format!("<{tok}>").chars().collect();
        for n in config.char_ngram_min..=config.char_ngram_max {
            if padded.len() < n {
                break;
            }
            for window in padded.windows(n) {
                features.push((
                    format!("c:{}", window.iter().collect::<String>()),
                    Group::Char,
                ));
            }
        }
    }
    if config.word_bigrams {
        let mut previous = "<s>".to_string();
        for (tok, _) in toks
            .iter()
            .chain(std::iter::once(&("</s>".to_string(), false)))
        {
            features.push((format!("b:{previous} {tok}"), Group::Word));
            previous = tok.clone();
        }
    }
    features
}

impl SparseFeaturizer {
    /// The index of a feature (as `raw_features` names it), if in the vocabulary.
    pub fn index_of(&self, feature: &str) -> Option<u32> {
        self.vocabulary.get(feature).copied()
    }

    /// Every (feature, index) of the vocabulary, in no particular order.
    pub fn vocabulary(&self) -> impl Iterator<Item = (&str, u32)> {
        self.vocabulary.iter().map(|(f, &i)| (f.as_str(), i))
    }

    /// Builds the vocabulary from training texts (with the entities found in each).
    pub fn fit<'a>(
        config: SparseConfig,
        texts: impl IntoIterator<Item = (&'a str, &'a [EntityMatch])>,
    ) -> SparseFeaturizer {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for (text, entities) in texts {
            let mut seen: Vec<String> = raw_features(text, entities, &config)
                .into_iter()
                .map(|(f, _)| f)
                .collect();
            seen.sort();
            seen.dedup();
            for f in seen {
                *counts.entry(f).or_default() += 1;
            }
        }
        let mut kept: Vec<String> = counts
            .into_iter()
            .filter(|(_, c)| *c >= config.min_count)
            .map(|(f, _)| f)
            .collect();
        kept.sort();
        let vocabulary = kept
            .into_iter()
            .enumerate()
            .map(|(i, f)| (f, i as u32))
            .collect();
        SparseFeaturizer { config, vocabulary }
    }

    pub fn dimension(&self) -> usize {
        self.vocabulary.len()
    }

    /// Words (and entity placeholders) of the message that occur in the
    /// training examples. None at all means the message shares nothing with
    /// what the bot was taught, whatever the classifier makes of it.
    pub fn known_words(&self, text: &str, entities: &[EntityMatch]) -> usize {
        tokens(text, entities)
            .iter()
            .filter(|(tok, _)| self.vocabulary.contains_key(&format!("w:{tok}")))
            .count()
    }

    pub fn transform(&self, text: &str, entities: &[EntityMatch]) -> SparseVec {
        let mut by_group: [Vec<(u32, f32)>; 3] = Default::default();
        for (feature, group) in raw_features(text, entities, &self.config) {
            if let Some(&index) = self.vocabulary.get(&feature) {
                by_group[group as usize].push((index, 1.0));
            }
        }
        let mut out: SparseVec = Vec::new();
        for mut group in by_group {
            group.sort_by_key(|(i, _)| *i);
            let mut merged: Vec<(u32, f32)> = Vec::with_capacity(group.len());
            for (i, v) in group {
                match merged.last_mut() {
                    Some((last, total)) if *last == i => *total += v,
                    _ => merged.push((i, v)),
                }
            }
            let norm = merged.iter().map(|(_, v)| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                out.extend(merged.into_iter().map(|(i, v)| (i, v / norm)));
            }
        }
        out.sort_by_key(|(i, _)| *i);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opsbot_spec::MatchSource;

    fn host_at(text: &str, value: &str) -> EntityMatch {
        let start = text.find(value).unwrap();
        EntityMatch {
            entity: "host".into(),
            start,
            end: start + value.len(),
            surface: value.into(),
            value: value.into(),
            source: MatchSource::Pattern,
            confidence: 1.0,
        }
    }

    #[test]
    fn entity_values_become_placeholders() {
        let text = "restart apache on web-01";
        let toks = tokens(text, &[host_at(text, "web-01")]);
        let words: Vec<&str> = toks.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(words, ["restart", "apache", "on", "<host>"]);
    }

    #[test]
    fn unseen_values_share_features_with_training() {
        let train = "restart apache on web-01";
        let entities = [host_at(train, "web-01")];
        let f = SparseFeaturizer::fit(SparseConfig::default(), [(train, &entities[..])]);
        let test = "restart apache on db-77";
        let a = f.transform(train, &entities);
        let b = f.transform(test, &[host_at(test, "db-77")]);
        assert_eq!(a, b, "only the host value differs, and it is a placeholder");
        let norm: f32 = a.iter().map(|(_, v)| v * v).sum();
        assert!((norm - 3.0).abs() < 1e-4, "three groups, each unit length");
    }
}
