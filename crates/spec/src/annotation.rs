//! The inline annotation format of examples: `restart [apache](service) on [web-01](host)`.
//!
//! `[surface](entity)` marks a value; `[surface](entity:canonical)` also names the
//! canonical value the surface form stands for (a synonym). A backslash makes
//! the next `[`, `]`, `(`, `)` or `\` a literal character (`\[`, `\]`, `\(`,
//! `\)`, `\\`), so text that comes from a chat message can be written as an
//! example without its own brackets ever reading as markup ([`escape`],
//! [`annotate`]). A backslash before anything else is itself, so existing
//! examples read as they always did.

use serde::{Deserialize, Serialize};

/// The characters a backslash makes literal.
const ESCAPABLE: [char; 5] = ['\\', '[', ']', '(', ')'];

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

/// One character of an example's source: `escaped` when a backslash made it
/// literal; `at`: its character offset in the source (of the backslash).
#[derive(Debug, Clone, Copy)]
struct Token {
    c: char,
    escaped: bool,
    at: usize,
}

impl Token {
    /// Whether this is `c` as markup (not escaped).
    fn is(self, c: char) -> bool {
        self.c == c && !self.escaped
    }
}

fn tokens(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        match chars.get(i + 1) {
            Some(&next) if chars[i] == '\\' && ESCAPABLE.contains(&next) => {
                out.push(Token {
                    c: next,
                    escaped: true,
                    at: i,
                });
                i += 2;
            }
            _ => {
                out.push(Token {
                    c: chars[i],
                    escaped: false,
                    at: i,
                });
                i += 1;
            }
        }
    }
    out
}

/// Parses one example. Brackets that are not followed by `(` are kept as text, so
/// ordinary punctuation never needs escaping.
pub fn parse(source: &str) -> Result<AnnotatedText, AnnotationError> {
    parse_with_labels(source).map(|(parsed, _)| parsed)
}

/// [`parse`], and the character offset of each annotation's entity label.
fn parse_with_labels(source: &str) -> Result<(AnnotatedText, Vec<usize>), AnnotationError> {
    let toks = tokens(source);
    let mut text = String::with_capacity(source.len());
    let mut spans = Vec::new();
    let mut labels = Vec::new();
    let collect = |range: &[Token]| range.iter().map(|t| t.c).collect::<String>();
    let mut i = 0;
    while i < toks.len() {
        let open = toks[i];
        if !open.is('[') {
            text.push(open.c);
            i += 1;
            continue;
        }
        let Some(close) = (i + 1..toks.len()).find(|&j| toks[j].is(']')) else {
            return Err(AnnotationError {
                offset: open.at,
                message: "'[' is never closed; expected `[value](entity)` (write `\\[` for a literal bracket)".into(),
            });
        };
        if !toks.get(close + 1).is_some_and(|t| t.is('(')) {
            // Plain brackets, not an annotation.
            text.push(open.c);
            i += 1;
            continue;
        }
        let label_at = toks[close + 1].at + 1;
        let Some(paren_close) = (close + 2..toks.len()).find(|&j| toks[j].is(')')) else {
            return Err(AnnotationError {
                offset: toks[close + 1].at,
                message: "'(' after an annotated value is never closed; expected `[value](entity)`"
                    .into(),
            });
        };
        let surface_tokens = &toks[i + 1..close];
        let label_tokens = &toks[close + 2..paren_close];
        let surface = collect(surface_tokens);
        let label = collect(label_tokens);
        if surface.trim().is_empty() {
            return Err(AnnotationError {
                offset: open.at,
                message: "annotated value is empty; expected `[value](entity)`".into(),
            });
        }
        // Markup inside markup (`[a](service:[b](service))`) would make a
        // value of the brackets themselves.
        if surface_tokens.iter().any(|t| t.is('['))
            || label_tokens.iter().any(|t| t.is('[') || t.is('('))
        {
            return Err(AnnotationError {
                offset: open.at,
                message: "annotations cannot be nested; expected `[value](entity)` (write `\\[`, `\\(` for literal brackets)".into(),
            });
        }
        let (entity, canonical) = match label.split_once(':') {
            Some((entity, canonical)) => (entity.trim(), canonical.trim().to_string()),
            None => (label.trim(), surface.clone()),
        };
        if entity.is_empty() || !is_identifier(entity) {
            return Err(AnnotationError {
                offset: label_at,
                message: format!(
                    "`{label}` is not an entity name; expected letters, digits, '_' or '-'"
                ),
            });
        }
        if canonical.is_empty() {
            return Err(AnnotationError {
                offset: label_at,
                message: format!("`{label}` names no value after ':'; expected `entity:value`"),
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
        labels.push(label_at);
        i = paren_close + 1;
    }
    Ok((AnnotatedText { text, spans }, labels))
}

/// `text` as example text that [`parse`] gives back exactly, with no values:
/// every `[` (the only character that opens markup) and `\` escaped; other
/// brackets and parentheses stay as they are, readable.
pub fn escape(text: &str) -> String {
    escape_these(text, &['\\', '['])
}

/// `text` with a backslash before each of `chars`.
fn escape_these(text: &str, chars: &[char]) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if chars.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `text` as an example with `values` marked: `[surface](entity)`, or
/// `[surface](entity:canonical)` when the canonical value is not the surface.
/// The text around and inside the marks is escaped, so [`parse`] gives back
/// `text` and exactly these values. A value that cannot be marked (out of
/// bounds, not on character boundaries, blank, an entity that is no name,
/// overlapping an earlier one) is left as plain text.
pub fn annotate(text: &str, values: &[EntitySpan]) -> String {
    let mut sorted: Vec<&EntitySpan> = values
        .iter()
        .filter(|v| {
            v.start < v.end
                && v.end <= text.len()
                && text.is_char_boundary(v.start)
                && text.is_char_boundary(v.end)
                && !text[v.start..v.end].trim().is_empty()
                && is_identifier(&v.entity)
                && !v.value.trim().is_empty()
        })
        .collect();
    sorted.sort_by_key(|v| v.start);
    let mut out = String::with_capacity(text.len() + 16 * sorted.len());
    let mut at = 0;
    for value in sorted {
        if value.start < at {
            continue;
        }
        let surface = &text[value.start..value.end];
        out.push_str(&escape(&text[at..value.start]));
        // Inside a mark every character the syntax reads is escaped: `]`
        // would end the surface, `)` the label, `[`/`(` read as nesting.
        out.push('[');
        out.push_str(&escape_these(surface, &ESCAPABLE));
        out.push_str("](");
        out.push_str(&value.entity);
        if surface != value.value {
            out.push(':');
            out.push_str(&escape_these(value.value.trim(), &ESCAPABLE));
        }
        out.push(')');
        at = value.end;
    }
    out.push_str(&escape(&text[at..]));
    out
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
    parse_with_labels(source)
        .ok()
        .and_then(|(_, labels)| labels.get(span_index).copied())
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
        assert!(
            parse("restart [x](service:)").is_err(),
            "no empty canonical"
        );
        assert_eq!(parse("say \\[ [x](bad name)").unwrap_err().offset, 11);
        assert_eq!(label_offset("a \\( [x](service)", 0), 9);
    }

    #[test]
    fn escaped_characters_are_literal_and_other_backslashes_stay() {
        let parsed = parse(r"say \[x\](y) and \\ [a\]b](service:c\)d) C:\temp").unwrap();
        assert_eq!(parsed.text, r"say [x](y) and \ a]b C:\temp");
        assert_eq!(parsed.spans.len(), 1);
        assert_eq!(parsed.spans[0].value, "c)d");
        assert_eq!(
            &parsed.text[parsed.spans[0].start..parsed.spans[0].end],
            "a]b"
        );
    }

    /// The two forms of the attack: a user's own markup, and a value found
    /// inside it, must not become annotations (or a canonical value made of
    /// markup) when the message is written as an example.
    #[test]
    fn a_messages_own_markup_never_becomes_an_annotation() {
        let text = "restart [--force](service) now";
        let written = annotate(text, &[]);
        assert_eq!(written, r"restart \[--force](service) now");
        let parsed = parse(&written).unwrap();
        assert_eq!(parsed.text, text);
        assert!(parsed.spans.is_empty());
        // Only what could open markup is escaped: the example stays readable.
        let text = r"restart apache (the web one) on C:\srv [today]";
        let written = escape(text);
        assert_eq!(written, r"restart apache (the web one) on C:\\srv \[today]");
        assert_eq!(parse(&written).unwrap().text, text);

        let text = "restart [everything](service:apache)";
        let start = text.find("apache").unwrap();
        let apache = EntitySpan {
            start,
            end: start + "apache".len(),
            entity: "service".into(),
            value: "apache".into(),
        };
        let written = annotate(text, std::slice::from_ref(&apache));
        let parsed = parse(&written).unwrap();
        assert_eq!(parsed.text, text);
        assert_eq!(parsed.spans, [apache]);
        // Unescaped, the same markup was read as a canonical value made of
        // brackets; now it is refused as nesting.
        assert!(parse("[everything](service:[apache](service))").is_err());
    }

    #[test]
    fn annotate_marks_synonyms_and_skips_what_cannot_be_marked() {
        let text = "bounce httpd on web-01";
        let span = |surface: &str, entity: &str, value: &str| {
            let start = text.find(surface).unwrap();
            EntitySpan {
                start,
                end: start + surface.len(),
                entity: entity.into(),
                value: value.into(),
            }
        };
        let written = annotate(
            text,
            &[
                span("web-01", "host", "web-01"),
                span("httpd", "service", "apache"),
                span("httpd on", "service", "x"),
                span("web", "bad name", "web"),
            ],
        );
        assert_eq!(written, "bounce [httpd](service:apache) on [web-01](host)");
    }
}
