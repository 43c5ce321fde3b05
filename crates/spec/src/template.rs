//! `{name}` templates for prompts, confirmations, replies and action arguments.
//!
//! A template is parsed once at load time, so a placeholder naming an unknown slot
//! is an authoring error reported by `opsbot check`, never a surprise at run time.
//! `{{` and `}}` write literal braces.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Piece {
    Text(String),
    Var(String),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    source: String,
    pieces: Vec<Piece>,
}

/// A malformed template, with the character offset of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl Template {
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let chars: Vec<char> = source.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '{' if chars.get(i + 1) == Some(&'{') => {
                    text.push('{');
                    i += 2;
                }
                '}' if chars.get(i + 1) == Some(&'}') => {
                    text.push('}');
                    i += 2;
                }
                '{' => {
                    let Some(len) = chars[i + 1..].iter().position(|&c| c == '}') else {
                        return Err(TemplateError {
                            offset: i,
                            message: "'{' is never closed; expected `{slot_name}` (write `{{` for a literal brace)".into(),
                        });
                    };
                    let name: String = chars[i + 1..i + 1 + len].iter().collect();
                    let name = name.trim().to_string();
                    // `{slot}`, a typed slot's field, `{slot.field}`, or a
                    // runbook step's value, `{steps.step.value}`.
                    let parts: Vec<&str> = name.split('.').collect();
                    let is_name = match parts.as_slice() {
                        ["steps", step, value] => {
                            crate::annotation::is_identifier(step)
                                && crate::annotation::is_identifier(value)
                        }
                        [slot] | [slot, _] => {
                            parts.iter().all(|p| crate::annotation::is_identifier(p))
                                && !slot.is_empty()
                        }
                        _ => false,
                    };
                    if !is_name {
                        return Err(TemplateError {
                            offset: i,
                            message: format!(
                                "`{{{name}}}` is not a placeholder; expected `{{slot_name}}`"
                            ),
                        });
                    }
                    if !text.is_empty() {
                        pieces.push(Piece::Text(std::mem::take(&mut text)));
                    }
                    pieces.push(Piece::Var(name));
                    i += len + 2;
                }
                '}' => {
                    return Err(TemplateError {
                        offset: i,
                        message: "'}' without '{'; write `}}` for a literal brace".into(),
                    })
                }
                c => {
                    text.push(c);
                    i += 1;
                }
            }
        }
        if !text.is_empty() {
            pieces.push(Piece::Text(text));
        }
        Ok(Template {
            source: source.to_string(),
            pieces,
        })
    }

    /// Placeholder names with the character offset of each `{`.
    pub fn placeholders(&self) -> Vec<(String, usize)> {
        let mut found = Vec::new();
        let chars: Vec<char> = self.source.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            if chars[i] == '{' && chars.get(i + 1) == Some(&'{') {
                i += 2;
            } else if chars[i] == '{' {
                let len = chars[i + 1..].iter().position(|&c| c == '}').unwrap_or(0);
                let name: String = chars[i + 1..i + 1 + len].iter().collect();
                found.push((name.trim().to_string(), i));
                i += len + 2;
            } else {
                i += 1;
            }
        }
        found
    }

    /// Fills placeholders; one missing from `values` renders as empty text (check
    /// guarantees it names a known variable, and optional slots may be unset).
    pub fn render(&self, values: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) => {
                    if let Some(v) = values.get(name) {
                        out.push_str(v);
                    }
                }
            }
        }
        out
    }

    /// Like `render`, but a placeholder without a value stays as written
    /// (`{steps.check.idle}`): a plan shown before the values exist.
    pub fn render_known(&self, values: &BTreeMap<String, String>) -> String {
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Var(name) => match values.get(name) {
                    Some(v) => out.push_str(v),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                },
            }
        }
        out
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The literal text before the first placeholder (all of it when there
    /// is none), braces unescaped: the part no filled value can change.
    pub fn leading_text(&self) -> &str {
        match self.pieces.first() {
            Some(Piece::Text(text)) => text,
            _ => "",
        }
    }

    /// Whether any value is filled in at all.
    pub fn has_placeholders(&self) -> bool {
        self.pieces.iter().any(|p| matches!(p, Piece::Var(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_values_and_escapes() {
        let t = Template::parse("restart {service} on {host} {{literal}}").unwrap();
        let values = BTreeMap::from([
            ("service".to_string(), "apache".to_string()),
            ("host".to_string(), "web-01".to_string()),
        ]);
        assert_eq!(t.render(&values), "restart apache on web-01 {literal}");
        assert_eq!(
            t.placeholders(),
            vec![("service".to_string(), 8), ("host".to_string(), 21)]
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(Template::parse("on {host").unwrap_err().offset, 3);
        assert!(Template::parse("on host}").is_err());
        assert!(Template::parse("on {two words}").is_err());
    }
}
