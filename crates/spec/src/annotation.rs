//! The inline annotation format of examples: `restart [apache](service) on [web-01](host)`.
//!
//! `[surface](entity)` marks a value; `[surface](entity:canonical)` also names the
//! canonical value the surface form stands for (a synonym).

use serde::{Deserialize, Serialize};

/// An example with its annotations removed and their spans recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnnotatedText {
    pub text: String,
    pub spans: Vec<EntitySpan>,
}

/// A marked value: byte range in `text`, the entity, and the canonical value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitySpan {
    pub start: usize,
    pub end: usize,
    pub entity: String,
    pub value: String,
}

/// A malformed annotation, with the character offset where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnotationError {
    pub offset: usize,
    pub message: String,
}

/// Parses one example. Brackets that are not followed by `(` are kept as text, so
/// ordinary punctuation never needs escaping.
pub fn parse(source: &str) -> Result<AnnotatedText, AnnotationError> {
    let mut text = String::with_capacity(source.len());
    let mut spans = Vec::new();
    let chars: Vec<(usize, char)> = source.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if c != '[' {
            text.push(c);
            i += 1;
            continue;
        }
        let open_char = i;
        let Some(close) = (i + 1..chars.len()).find(|&j| chars[j].1 == ']') else {
            return Err(AnnotationError {
                offset: open_char,
                message: "'[' is never closed; expected `[value](entity)`".into(),
            });
        };
        if chars.get(close + 1).map(|c| c.1) != Some('(') {
            // Plain brackets, not an annotation.
            text.push(c);
            i += 1;
            continue;
        }
        let Some(paren_close) = (close + 2..chars.len()).find(|&j| chars[j].1 == ')') else {
            return Err(AnnotationError {
                offset: close + 1,
                message: "'(' after an annotated value is never closed; expected `[value](entity)`"
                    .into(),
            });
        };
        let surface: String = chars[i + 1..close].iter().map(|c| c.1).collect();
        let label: String = chars[close + 2..paren_close].iter().map(|c| c.1).collect();
        if surface.trim().is_empty() {
            return Err(AnnotationError {
                offset: open_char,
                message: "annotated value is empty; expected `[value](entity)`".into(),
            });
        }
        if surface.contains('[') {
            return Err(AnnotationError {
                offset: open_char,
                message: "annotations cannot be nested; expected `[value](entity)`".into(),
            });
        }
        let (entity, canonical) = match label.split_once(':') {
            Some((entity, canonical)) => (entity.trim(), canonical.trim().to_string()),
            None => (label.trim(), surface.clone()),
        };
        if entity.is_empty() || !is_identifier(entity) {
            return Err(AnnotationError {
                offset: close + 2,
                message: format!(
                    "`{label}` is not an entity name; expected letters, digits, '_' or '-'"
                ),
            });
        }
        let start = text.len();
        text.push_str(&surface);
        spans.push(EntitySpan {
            start,
            end: text.len(),
            entity: entity.to_string(),
            value: canonical,
        });
        i = paren_close + 1;
    }
    Ok(AnnotatedText { text, spans })
}

/// Names of entities, slots, intents and dialogs.
pub fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Character offset of an annotation's entity label, for pointing at unknown names.
pub fn label_offset(source: &str, span_index: usize) -> usize {
    source
        .match_indices("](")
        .nth(span_index)
        .map(|(byte, _)| source[..byte].chars().count() + 2)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_spans_and_plain_text() {
        let parsed = parse("restart [apache](service) on [web-01](host)").unwrap();
        assert_eq!(parsed.text, "restart apache on web-01");
        assert_eq!(parsed.spans.len(), 2);
        assert_eq!(
            &parsed.text[parsed.spans[1].start..parsed.spans[1].end],
            "web-01"
        );
        assert_eq!(parsed.spans[1].entity, "host");
    }

    #[test]
    fn synonym_annotation_names_canonical_value() {
        let parsed = parse("bounce [httpd](service:apache)").unwrap();
        assert_eq!(parsed.spans[0].value, "apache");
        assert_eq!(parsed.text, "bounce httpd");
    }

    #[test]
    fn plain_brackets_stay_text() {
        let parsed = parse("list [all] hosts").unwrap();
        assert_eq!(parsed.text, "list [all] hosts");
        assert!(parsed.spans.is_empty());
    }

    #[test]
    fn malformed_annotations_report_offsets() {
        assert_eq!(parse("restart [apache(service)").unwrap_err().offset, 8);
        assert!(parse("restart [apache](service").is_err());
        assert!(parse("restart [](service)").is_err());
        assert!(parse("restart [x](bad name)").is_err());
    }
}
