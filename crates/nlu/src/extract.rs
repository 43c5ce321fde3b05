//! Entity extraction: every entity of the project looked up in one message —
//! listed values, patterns and built-in types exactly, listed values with a typo
//! ("apahce") fuzzily, and spans from the trained tagger — merged by the
//! precedence of `opsbot_spec::entity::remove_overlaps`.

use std::collections::HashSet;

use opsbot_spec::entity::{clean_boundaries, remove_overlaps, remove_overlaps_per_entity, Found};
use opsbot_spec::{EntityMatch, MatchSource, Project};

use crate::tagger::{self, TaggedSpan, MIN_SPAN_CONFIDENCE};

/// Finds the values of all entities in a message.
#[derive(Debug, Clone, Default)]
pub struct EntityExtractor {
    entities: Vec<opsbot_spec::Entity>,
    /// Words the training examples use outside annotated values: a word the
    /// author wrote on purpose is never taken for a misspelt value.
    known_words: HashSet<String>,
}

impl EntityExtractor {
    pub fn new(project: &Project) -> EntityExtractor {
        let mut known_words = HashSet::new();
        let examples = project
            .intents
            .values()
            .flat_map(|i| i.examples.iter())
            .chain(project.out_of_scope.iter());
        for example in examples {
            for (start, end) in tagger::words(&example.text) {
                if !example.spans.iter().any(|s| start < s.end && end > s.start) {
                    known_words.insert(example.text[start..end].to_lowercase());
                }
            }
        }
        EntityExtractor {
            entities: project.entities.values().cloned().collect(),
            known_words,
        }
    }

    /// An extractor that finds nothing, for data sets without entities.
    pub fn empty() -> EntityExtractor {
        EntityExtractor::default()
    }

    /// Exact and fuzzy matches (no tagger), without overlaps: what the
    /// classifier's features see.
    pub fn extract(&self, text: &str) -> Vec<EntityMatch> {
        remove_overlaps(self.candidates(text))
    }

    /// Exact and fuzzy matches; matches of different entities may overlap, for
    /// the dialog to choose by its slots.
    pub fn candidates(&self, text: &str) -> Vec<EntityMatch> {
        self.find(text).matches
    }

    /// [`candidates`](Self::candidates), and the tokens (byte ranges) a
    /// finder matched only part of, which hold no value (`1,000.00` is no
    /// version `000.00`): the words to name back as not understood.
    pub fn find(&self, text: &str) -> Found {
        let mut found = Found::default();
        for entity in &self.entities {
            let one = entity.find_in(text);
            found.matches.extend(one.matches);
            for token in one.partial {
                if !found.partial.contains(&token) {
                    found.partial.push(token);
                }
            }
        }
        let fuzzy = self.fuzzy(text, &mut found);
        found.matches.extend(fuzzy);
        found.matches = remove_overlaps_per_entity(std::mem::take(&mut found.matches));
        found.partial.sort_unstable();
        found
    }

    /// Words that are one or two typos away from exactly one listed value.
    fn fuzzy(&self, text: &str, exact: &mut Found) -> Vec<EntityMatch> {
        let mut found = Vec::new();
        for (start, end) in tagger::words(text) {
            let word = &text[start..end];
            if exact.matches.iter().any(|m| start < m.end && end > m.start)
                || self.known_words.contains(&word.to_lowercase())
            {
                continue;
            }
            let candidates: Vec<(&opsbot_spec::Entity, &str, f32)> = self
                .entities
                .iter()
                .filter(|e| e.is_closed())
                .filter_map(|e| e.fuzzy_lookup(word).map(|(c, conf)| (e, c, conf)))
                .collect();
            if let [(entity, canonical, confidence)] = candidates.as_slice() {
                if !exact.judge(text, start, end) {
                    continue;
                }
                found.push(EntityMatch {
                    entity: entity.name.clone(),
                    start,
                    end,
                    surface: word.to_string(),
                    value: canonical.to_string(),
                    source: MatchSource::Fuzzy,
                    confidence: *confidence,
                });
            }
        }
        found
    }

    /// `exact` (from [`candidates`](Self::candidates)) with the tagger's spans
    /// added where they are sure enough, fit the text's word boundaries and do
    /// not overlap an exact match. A tagged value of a listed entity is
    /// normalised to its canonical value when it is one (or a typo of one).
    pub fn with_tagged(
        &self,
        text: &str,
        exact: Vec<EntityMatch>,
        tagged: &[TaggedSpan],
    ) -> Vec<EntityMatch> {
        let mut all = exact;
        for span in tagged {
            if span.confidence < MIN_SPAN_CONFIDENCE
                || !clean_boundaries(text, span.start, span.end)
                || all.iter().any(|m| span.start < m.end && span.end > m.start)
            {
                continue;
            }
            let Some(entity) = self.entities.iter().find(|e| e.name == span.entity) else {
                continue;
            };
            let surface = &text[span.start..span.end];
            let value = entity
                .lookup(surface)
                .or_else(|| entity.fuzzy_lookup(surface).map(|(c, _)| c))
                .unwrap_or(surface)
                .to_string();
            all.push(EntityMatch {
                entity: span.entity.clone(),
                start: span.start,
                end: span.end,
                surface: surface.to_string(),
                value,
                source: MatchSource::Tagger,
                confidence: span.confidence,
            });
        }
        all.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        opsbot_spec::load_project(&root).expect("example bot loads")
    }

    #[test]
    fn typos_of_listed_values_are_found_with_lower_confidence() {
        let extractor = EntityExtractor::new(&project());
        let found = extractor.extract("restart apahce on web-01");
        let service = found
            .iter()
            .find(|m| m.entity == "service")
            .expect("{found:?}");
        assert_eq!(service.value, "apache");
        assert_eq!(service.source, MatchSource::Fuzzy);
        assert!(service.confidence < 1.0 && service.confidence > 0.5);
        // Words of the examples are never typos ("restart" is one edit from nothing
        // listed, "test" is listed exactly, "best" is an ordinary word).
        let found = extractor.extract("restart the best one");
        assert!(
            found.iter().all(|m| m.source != MatchSource::Fuzzy),
            "{found:?}"
        );
    }

    #[test]
    fn tagged_spans_fill_in_but_never_override_exact_matches() {
        let extractor = EntityExtractor::new(&project());
        let text = "restart nginx on zeta; rm -rf /";
        let exact = extractor.extract(text);
        let tagged = [
            TaggedSpan {
                entity: "service".into(),
                start: 8,
                end: 13,
                confidence: 0.9,
            },
            TaggedSpan {
                entity: "host".into(),
                start: 17,
                end: 21,
                confidence: 0.9,
            },
        ];
        let merged = extractor.with_tagged(text, exact, &tagged);
        assert_eq!(merged.len(), 1, "{merged:?}");
        assert_eq!(merged[0].source, MatchSource::Lexicon);
        let text = "restart nginx on zeta now";
        let merged = extractor.with_tagged(text, extractor.extract(text), &tagged);
        let host = merged
            .iter()
            .find(|m| m.entity == "host")
            .expect("tagged host");
        assert_eq!(
            (host.value.as_str(), host.source),
            ("zeta", MatchSource::Tagger)
        );
        let unsure = [TaggedSpan {
            entity: "host".into(),
            start: 17,
            end: 21,
            confidence: 0.3,
        }];
        assert!(extractor.with_tagged(text, Vec::new(), &unsure).is_empty());
    }

    /// Issue 31: a value is a whole token of the message. Parts of tokens
    /// (found exactly, by a typo, or tagged) are never values; the tokens
    /// the exact and typo finders matched part of are named in `partial`.
    #[test]
    fn parts_of_tokens_are_no_values_and_their_tokens_are_named() {
        let extractor = EntityExtractor::new(&project());
        for (text, token) in [
            ("restart apache on d\u{200B}b-01", "d\u{200B}b-01"),
            ("restart apache on web-01\u{0}", "web-01\u{0}"),
            ("deploy shop 1,000.00 to staging", "1,000.00"),
            ("restart apahce\u{200B} on web-01", "apahce\u{200B}"),
        ] {
            let found = extractor.find(text);
            let start = text.find(token).unwrap();
            let end = start + token.len();
            assert!(
                found
                    .matches
                    .iter()
                    .all(|m| m.end <= start || m.start >= end),
                "{text:?}: {:?}",
                found.matches
            );
            assert!(found.partial.contains(&(start, end)), "{text:?}: {found:?}");
        }
        let text = "restart apache on d\u{200B}b-01 now";
        let at = text.find("b-01").unwrap();
        let tagged = [TaggedSpan {
            entity: "host".into(),
            start: at,
            end: at + 4,
            confidence: 0.9,
        }];
        let merged = extractor.with_tagged(text, extractor.candidates(text), &tagged);
        assert!(merged.iter().all(|m| m.entity != "host"), "{merged:?}");
    }
}
