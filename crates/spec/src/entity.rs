//! Checked entities: how a value is found in text, normalised to its canonical
//! form, and validated before anything may run with it.

use std::collections::{BTreeMap, BTreeSet};

use regex::Regex;

/// Longest value a slot may hold; longer input is never a host, version or name.
pub const MAX_VALUE_CHARS: usize = 200;

/// Where an extracted value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchSource {
    /// A listed value, synonym or value learned from an annotation.
    Lexicon,
    /// The entity's regular expression.
    Pattern,
    /// The user's whole answer to a question about this slot.
    Answer,
}

/// A value found in a message: byte span, surface text, canonical value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntityMatch {
    pub entity: String,
    pub start: usize,
    pub end: usize,
    pub surface: String,
    pub value: String,
    pub source: MatchSource,
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub description: String,
    pattern: Option<Regex>,
    anchored: Option<Regex>,
    /// Lower-cased surface form → canonical value, longest surfaces first.
    lexicon: Vec<(String, String)>,
    canonical: BTreeSet<String>,
}

impl Entity {
    /// Builds an entity from already-checked parts (see `validate`).
    pub(crate) fn new(
        name: &str,
        description: Option<String>,
        pattern: Option<Regex>,
        values: &BTreeMap<String, Vec<String>>,
    ) -> Entity {
        let anchored = pattern.as_ref().map(|p| {
            Regex::new(&format!(r"\A(?:{})\z", p.as_str())).expect("anchoring a valid regex")
        });
        let mut entity = Entity {
            name: name.to_string(),
            description: description.unwrap_or_else(|| format!("a {name}")),
            pattern,
            anchored,
            lexicon: Vec::new(),
            canonical: BTreeSet::new(),
        };
        for (canonical, synonyms) in values {
            entity.learn(canonical, canonical);
            for synonym in synonyms {
                entity.learn(synonym, canonical);
            }
        }
        entity
    }

    /// Adds a surface form (from the value list or an annotation).
    pub(crate) fn learn(&mut self, surface: &str, canonical: &str) {
        let surface = surface.trim().to_ascii_lowercase();
        if surface.is_empty() {
            return;
        }
        self.canonical.insert(canonical.to_string());
        if !self.lexicon.iter().any(|(s, _)| *s == surface) {
            self.lexicon.push((surface, canonical.to_string()));
            self.lexicon
                .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        }
    }

    pub fn has_pattern(&self) -> bool {
        self.pattern.is_some()
    }

    pub fn canonical_values(&self) -> impl Iterator<Item = &str> {
        self.canonical.iter().map(String::as_str)
    }

    /// The canonical value for a listed surface form, compared case-insensitively.
    pub fn lookup(&self, surface: &str) -> Option<&str> {
        let surface = surface.trim().to_ascii_lowercase();
        self.lexicon
            .iter()
            .find(|(s, _)| *s == surface)
            .map(|(_, c)| c.as_str())
    }

    /// Checks a candidate value and returns its canonical form (a listed value or
    /// synonym, or else a match of the whole pattern), or a reason fit to
    /// show the user ("“banana” is not a host name like web-01 or an IP address").
    pub fn validate(&self, candidate: &str) -> Result<String, String> {
        let candidate = candidate.trim();
        let shown: String = candidate.chars().take(60).collect();
        let shown = if shown.len() < candidate.len() {
            format!("{shown}…")
        } else {
            shown
        };
        if candidate.is_empty() {
            return Err(format!("an empty answer is not {}", self.description));
        }
        if candidate.chars().count() > MAX_VALUE_CHARS {
            return Err(format!(
                "that is longer than {MAX_VALUE_CHARS} characters, so it is not {}",
                self.description
            ));
        }
        if candidate.chars().any(char::is_control) {
            return Err(format!(
                "“{}” contains control characters, so it is not {}",
                shown.escape_debug(),
                self.description
            ));
        }
        if let Some(canonical) = self.lookup(candidate) {
            return Ok(canonical.to_string());
        }
        if candidate.starts_with('-') {
            // A program could take it for an option ("-rf", "--force").
            return Err(format!(
                "“{shown}” starts with '-', so it is not {}",
                self.description
            ));
        }
        match &self.anchored {
            Some(anchored) if anchored.is_match(candidate) => Ok(candidate.to_string()),
            Some(_) => Err(format!("“{shown}” is not {}", self.description)),
            None => {
                let known: Vec<&str> = self.canonical_values().collect();
                Err(format!(
                    "“{shown}” is not {}; I know {}",
                    self.description,
                    join_or(&known)
                ))
            }
        }
    }

    /// Every value of this entity in `text`: lexicon entries at word boundaries and
    /// pattern matches, without overlaps (longest first).
    pub fn find_all(&self, text: &str) -> Vec<EntityMatch> {
        let mut found: Vec<EntityMatch> = Vec::new();
        let lower = text.to_ascii_lowercase();
        for (surface, canonical) in &self.lexicon {
            let mut from = 0;
            while let Some(pos) = lower[from..].find(surface.as_str()) {
                let start = from + pos;
                let end = start + surface.len();
                if at_word_boundary(&lower, start, end) {
                    found.push(EntityMatch {
                        entity: self.name.clone(),
                        start,
                        end,
                        surface: text[start..end].to_string(),
                        value: canonical.clone(),
                        source: MatchSource::Lexicon,
                    });
                }
                from = start + surface.len().max(1);
                while !lower.is_char_boundary(from) {
                    from += 1;
                }
            }
        }
        if let Some(pattern) = &self.pattern {
            for m in pattern.find_iter(text) {
                if m.start() == m.end() || !at_word_boundary(text, m.start(), m.end()) {
                    continue;
                }
                let surface = m.as_str();
                found.push(EntityMatch {
                    entity: self.name.clone(),
                    start: m.start(),
                    end: m.end(),
                    surface: surface.to_string(),
                    value: self.lookup(surface).unwrap_or(surface).to_string(),
                    source: MatchSource::Pattern,
                });
            }
        }
        remove_overlaps(found)
    }
}

/// Keeps the longest of overlapping matches (earliest on ties, lexicon before pattern).
pub fn remove_overlaps(mut matches: Vec<EntityMatch>) -> Vec<EntityMatch> {
    matches.sort_by(|a, b| {
        (b.end - b.start)
            .cmp(&(a.end - a.start))
            .then(a.start.cmp(&b.start))
            .then((a.source as u8).cmp(&(b.source as u8)))
    });
    let mut kept: Vec<EntityMatch> = Vec::new();
    for m in matches {
        if kept.iter().all(|k| m.end <= k.start || m.start >= k.end) {
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| m.start);
    kept
}

/// Characters that have no place next to a value in prose but do in shell
/// commands; a value touching one is not extracted, so "web-01; touch /tmp/x" is
/// judged as a whole (and rejected) instead of quietly becoming "web-01".
const SHELL_METACHARACTERS: &[char] = &[';', '|', '&', '$', '`', '<', '>', '\\', '\n', '\r'];

fn at_word_boundary(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    if before
        .into_iter()
        .chain(after)
        .any(|c| SHELL_METACHARACTERS.contains(&c))
        || text[..start].ends_with("$(")
    {
        return false;
    }
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let first = text[start..end].chars().next();
    let last = text[start..end].chars().next_back();
    // A boundary is only required where the value itself starts or ends with a
    // word character ("web-01" must not match inside "xweb-01").
    (before.is_none_or(|b| !is_word(b)) || first.is_none_or(|f| !is_word(f)))
        && (after.is_none_or(|a| !is_word(a)) || last.is_none_or(|l| !is_word(l)))
}

/// "a, b or c".
pub fn join_or(items: &[&str]) -> String {
    match items {
        [] => "no values".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> Entity {
        let values = BTreeMap::from([
            ("apache".to_string(), vec!["httpd".to_string()]),
            ("nginx".to_string(), vec![]),
        ]);
        Entity::new("service", Some("a service".into()), None, &values)
    }

    fn host() -> Entity {
        let pattern = Regex::new(r"[a-z][a-z0-9]*-\d+|\d{1,3}(?:\.\d{1,3}){3}").unwrap();
        Entity::new(
            "host",
            Some("a host name like web-01 or an IP address".into()),
            Some(pattern),
            &BTreeMap::new(),
        )
    }

    #[test]
    fn synonyms_normalise_to_canonical() {
        let s = service();
        let found = s.find_all("please bounce HTTPD now");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].value, "apache");
        assert_eq!(found[0].surface, "HTTPD");
        assert_eq!(s.validate("Httpd"), Ok("apache".to_string()));
        assert!(s
            .validate("tomcat")
            .unwrap_err()
            .contains("apache or nginx"));
    }

    #[test]
    fn lexicon_respects_word_boundaries() {
        assert!(service().find_all("nginxy").is_empty());
        assert_eq!(service().find_all("nginx,apache").len(), 2);
    }

    #[test]
    fn pattern_validation_is_anchored() {
        let h = host();
        assert_eq!(h.validate("192.168.0.24"), Ok("192.168.0.24".into()));
        assert!(h
            .validate("banana")
            .unwrap_err()
            .contains("not a host name"));
        assert!(h.validate("web-01; touch /tmp/x").is_err());
        assert!(
            h.validate("web-01\n").is_ok(),
            "surrounding whitespace is trimmed"
        );
        assert!(h.validate("web-01\nrm").is_err());
        let anything = Entity::new(
            "text",
            Some("some text".into()),
            Some(Regex::new(".+").unwrap()),
            &BTreeMap::new(),
        );
        assert!(
            anything
                .validate("--force")
                .unwrap_err()
                .contains("starts with '-'"),
            "no option injection"
        );
        assert_eq!(h.find_all("restart it on web-02 now")[0].value, "web-02");
        assert!(
            h.find_all("web-01; touch /tmp/x").is_empty(),
            "a value touching a shell metacharacter is not extracted"
        );
        assert!(h.find_all("$(web-01)").is_empty());
    }
}
