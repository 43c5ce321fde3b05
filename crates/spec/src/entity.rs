//! Checked entities: how a value is found in text, normalised to its canonical
//! form, and validated before anything may run with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::guard;
pub use crate::token::clean_boundaries;
use crate::token::{self, Fit};
use crate::types::{TimeFrame, ValueType};

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
    /// A built-in type's finder (duration, IP address, …).
    Typed,
    /// A listed value written with a typo ("apahce").
    Fuzzy,
    /// The trained sequence tagger, from the words around it.
    Tagger,
}

impl MatchSource {
    /// Precedence when spans overlap: lower wins (see `remove_overlaps`).
    pub fn rank(self) -> u8 {
        match self {
            MatchSource::Lexicon
            | MatchSource::Answer
            | MatchSource::Pattern
            | MatchSource::Typed => 0,
            MatchSource::Fuzzy => 1,
            MatchSource::Tagger => 2,
        }
    }
}

fn certain() -> f32 {
    1.0
}

/// A value found in a message: byte span, surface text, canonical value (for a
/// typed entity, the surface: it is resolved when validated, against the clock),
/// where it came from and how sure the finder is (1 for exact matches).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EntityMatch {
    pub entity: String,
    pub start: usize,
    pub end: usize,
    pub surface: String,
    pub value: String,
    pub source: MatchSource,
    #[serde(default = "certain")]
    pub confidence: f32,
}

#[derive(Debug, Clone)]
pub struct Entity {
    pub name: String,
    pub description: String,
    pattern: Option<Regex>,
    anchored: Option<Regex>,
    value_type: Option<ValueType>,
    /// Lower-cased surface form → canonical value, longest surfaces first.
    lexicon: Vec<(String, String)>,
    /// Surface → canonical value: `lexicon` indexed, so lookups and learning
    /// stay constant-time however many values annotations teach.
    index: HashMap<String, String>,
    canonical: BTreeSet<String>,
}

impl Entity {
    /// Builds an entity from already-checked parts (see `validate`).
    pub(crate) fn new(
        name: &str,
        description: Option<String>,
        pattern: Option<Regex>,
        value_type: Option<ValueType>,
        values: &BTreeMap<String, Vec<String>>,
    ) -> Entity {
        let anchored = pattern.as_ref().map(|p| {
            Regex::new(&format!(r"\A(?:{})\z", p.as_str())).expect("anchoring a valid regex")
        });
        let mut entity = Entity {
            name: name.to_string(),
            description: description.unwrap_or_else(|| match value_type {
                Some(t) => t.description().to_string(),
                None => format!("a {name}"),
            }),
            pattern,
            anchored,
            value_type,
            lexicon: Vec::new(),
            index: HashMap::new(),
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
        self.learn_all([(surface, canonical)]);
    }

    /// Adds many surface forms, sorting the lexicon (longest first) once.
    pub(crate) fn learn_all<'s>(&mut self, pairs: impl IntoIterator<Item = (&'s str, &'s str)>) {
        let before = self.lexicon.len();
        for (surface, canonical) in pairs {
            let surface = surface.trim().to_ascii_lowercase();
            if surface.is_empty() {
                continue;
            }
            self.canonical.insert(canonical.to_string());
            if !self.index.contains_key(&surface) {
                self.index.insert(surface.clone(), canonical.to_string());
                self.lexicon.push((surface, canonical.to_string()));
            }
        }
        if self.lexicon.len() != before {
            self.lexicon
                .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        }
    }

    /// The built-in entity of a type, for slots that name the type directly.
    pub fn builtin(value_type: ValueType) -> Entity {
        Entity::new(
            value_type.name(),
            None,
            None,
            Some(value_type),
            &BTreeMap::new(),
        )
    }

    /// Whether values are checked by a pattern or type (an open set), rather than
    /// by a closed list that annotations may extend.
    pub fn has_pattern(&self) -> bool {
        self.pattern.is_some() || self.value_type.is_some()
    }

    pub fn value_type(&self) -> Option<ValueType> {
        self.value_type
    }

    /// Whether this entity's values are a closed list (no pattern, no type).
    pub fn is_closed(&self) -> bool {
        !self.has_pattern()
    }

    /// Single-word listed surfaces, for typo-tolerant matching.
    pub fn lexicon_words(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lexicon
            .iter()
            .filter(|(s, _)| !s.contains(' '))
            .map(|(s, c)| (s.as_str(), c.as_str()))
    }

    /// The canonical value a misspelt surface most likely means, with a
    /// confidence: one edit (or transposition) in words of 4 to 7 letters, two
    /// from 8 letters on; the first letter must match. `None` when no entry or
    /// more than one canonical value is that close, and never for a word that
    /// only looks like a slip: one whose numbers differ ("web-02" is not
    /// "web-01") or that lengthens or shortens a listed word by more than a
    /// letter ("orders-loader" is not "orders-load") names another thing.
    pub fn fuzzy_lookup(&self, surface: &str) -> Option<(&str, f32)> {
        let word = surface.trim().to_ascii_lowercase();
        let len = word.chars().count();
        if len < 4 || !word.chars().all(|c| c.is_alphanumeric() || c == '-') {
            return None;
        }
        let allowed = if len >= 8 { 2 } else { 1 };
        let mut best: Option<(&str, usize)> = None;
        let mut tie = false;
        for (listed, canonical) in self.lexicon_words() {
            if listed.chars().count() < 4 || listed.chars().next() != word.chars().next() {
                continue;
            }
            let distance = strsim::osa_distance(&word, listed);
            if distance == 0 || distance > allowed || names_another(&word, listed) {
                continue;
            }
            match best {
                Some((c, d)) if distance > d || (distance == d && c == canonical) => {}
                Some((c, d)) if distance == d && c != canonical => tie = true,
                _ => {
                    best = Some((canonical, distance));
                    tie = false;
                }
            }
        }
        let (canonical, distance) = best.filter(|_| !tie)?;
        Some((canonical, 1.0 - distance as f32 / len as f32))
    }

    /// Every listed surface form (lower case) with its canonical value:
    /// the values, their synonyms and what annotations taught.
    pub fn listed(&self) -> impl Iterator<Item = (&str, &str)> {
        self.lexicon.iter().map(|(s, c)| (s.as_str(), c.as_str()))
    }

    pub fn canonical_values(&self) -> impl Iterator<Item = &str> {
        self.canonical.iter().map(String::as_str)
    }

    /// The canonical value for a listed surface form, compared case-insensitively.
    pub fn lookup(&self, surface: &str) -> Option<&str> {
        let surface = surface.trim().to_ascii_lowercase();
        self.index.get(&surface).map(String::as_str)
    }

    /// Checks a candidate value and returns its canonical form (a listed value or
    /// synonym, or else a match of the whole pattern), or a reason fit to
    /// show the user ("“banana” is not a host name like web-01 or an IP address").
    ///
    /// A typed entity resolves relative values ("tomorrow at 9") against `now`.
    pub fn validate(&self, candidate: &str, now: DateTime<Utc>) -> Result<String, String> {
        self.validate_with(candidate, &TimeFrame::utc(now), true)
    }

    /// [`Entity::validate`] with the speaker's time zone and the slot's
    /// direction for times.
    pub fn validate_in(&self, candidate: &str, frame: &TimeFrame) -> Result<String, String> {
        self.validate_with(candidate, frame, true)
    }

    /// [`Entity::validate`] without the typo-tolerant step: an annotation in
    /// the training data is taken as written (and costs no scan of the list).
    pub fn validate_exact(&self, candidate: &str, now: DateTime<Utc>) -> Result<String, String> {
        self.validate_with(candidate, &TimeFrame::utc(now), false)
    }

    /// [`Entity::validate_in`] without the typo-tolerant step: a value a
    /// program gave (an API or MCP call) is taken as written or refused,
    /// never replaced by a near listed one.
    pub fn validate_exact_in(&self, candidate: &str, frame: &TimeFrame) -> Result<String, String> {
        self.validate_with(candidate, frame, false)
    }

    fn validate_with(
        &self,
        candidate: &str,
        frame: &TimeFrame,
        fuzzy: bool,
    ) -> Result<String, String> {
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
        if candidate.chars().any(token::hidden) {
            return Err(format!(
                "“{}” contains invisible or control characters, so it is not {}",
                shown.escape_debug(),
                self.description
            ));
        }
        // A program could take it for an option ("-rf", "--force"): refused
        // before the list is asked, so a listed value is held to it too.
        let option_like = |value: &str| {
            let shown: String = value.chars().take(60).collect();
            if value.trim_start_matches('-').parse::<f64>().is_ok() {
                // A negative number is a number, but the program would read
                // "-300" as an option: the reason is that, not its type.
                format!(
                    "“{shown}” is negative, and a value starting with '-' could be read as an option by the program, so I do not take negative numbers"
                )
            } else {
                format!(
                    "“{shown}” starts with '-', so it is not {}",
                    self.description
                )
            }
        };
        if guard::looks_like_option(candidate) {
            return Err(option_like(&shown));
        }
        if let Some(canonical) = self.lookup(candidate) {
            if guard::looks_like_option(canonical) {
                return Err(option_like(canonical));
            }
            return Ok(canonical.to_string());
        }
        if let Some(value_type) = self.value_type {
            let canonical = value_type
                .resolve_in(candidate, frame)
                .ok_or_else(|| format!("“{shown}” is not {}", self.description))?;
            if guard::looks_like_option(&canonical) {
                return Err(option_like(&canonical));
            }
            // `{when.unix}` of a time before 1970 is negative: the field,
            // not the value, would reach the program as an option.
            let fields = value_type.fields(&canonical);
            if let Some((field, text)) = fields.iter().find(|(_, t)| guard::looks_like_option(t)) {
                let field = if *field == "unix" { "Unix time" } else { field };
                return Err(format!(
                    "“{shown}” has the {field} {text}, which starts with '-', so a program could take it for an option; it is not {}",
                    self.description
                ));
            }
            return Ok(canonical);
        }
        if let (None, true, Some((canonical, _))) = (
            &self.anchored,
            fuzzy,
            fuzzy.then(|| self.fuzzy_lookup(candidate)).flatten(),
        ) {
            if guard::looks_like_option(canonical) {
                return Err(option_like(canonical));
            }
            return Ok(canonical.to_string());
        }
        match &self.anchored {
            Some(anchored) if anchored.is_match(candidate) => Ok(candidate.to_string()),
            Some(_) => Err(format!("“{shown}” is not {}", self.description)),
            None => {
                let known: Vec<&str> = self.canonical_values().collect();
                // A description that lists the values already says them: once.
                let described = self.description.to_lowercase();
                let words: BTreeSet<&str> = described
                    .split(|c: char| !(c.is_alphanumeric() || c == '-' || c == '_'))
                    .collect();
                let named = known.iter().all(|v| {
                    let v = v.to_lowercase();
                    words.contains(v.as_str()) || v.contains(' ') && described.contains(&v)
                });
                if named {
                    return Err(format!("“{shown}” is not {}", self.description));
                }
                Err(format!(
                    "“{shown}” is not {}; I know {}",
                    self.description,
                    join_or(&known)
                ))
            }
        }
    }

    /// Whether `written` may stand for `canonical`: a value its pattern
    /// matches only in another case ("a" for the record type `A` of a
    /// case-sensitive pattern) is the author's case, not this word's.
    fn case_fits(&self, written: &str, canonical: &str) -> bool {
        match &self.anchored {
            Some(anchored) if written.eq_ignore_ascii_case(canonical) => {
                anchored.is_match(written) || !anchored.is_match(canonical)
            }
            _ => true,
        }
    }

    /// Every value of this entity in `text`: lexicon entries, pattern matches
    /// and typed values that are whole tokens (see [`crate::token`]), without
    /// overlaps (longest first).
    pub fn find_all(&self, text: &str) -> Vec<EntityMatch> {
        self.find_in(text).matches
    }

    /// [`Entity::find_all`], and the tokens a finder matched only part of.
    pub fn find_in(&self, text: &str) -> Found {
        let mut found = Found::default();
        let lower = text.to_ascii_lowercase();
        for (surface, canonical) in &self.lexicon {
            let mut from = 0;
            while let Some(pos) = lower[from..].find(surface.as_str()) {
                let start = from + pos;
                let end = start + surface.len();
                if found.judge(&lower, start, end) && self.case_fits(&text[start..end], canonical) {
                    found.matches.push(EntityMatch {
                        entity: self.name.clone(),
                        start,
                        end,
                        surface: text[start..end].to_string(),
                        value: canonical.clone(),
                        source: MatchSource::Lexicon,
                        confidence: 1.0,
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
                if m.start() == m.end() || !found.judge(text, m.start(), m.end()) {
                    continue;
                }
                let surface = m.as_str();
                found.matches.push(EntityMatch {
                    entity: self.name.clone(),
                    start: m.start(),
                    end: m.end(),
                    surface: surface.to_string(),
                    value: self.lookup(surface).unwrap_or(surface).to_string(),
                    source: MatchSource::Pattern,
                    confidence: 1.0,
                });
            }
        }
        if let Some(value_type) = self.value_type {
            // Finding needs no clock: whether a phrase is a time does not depend
            // on when it is said. It is resolved when the engine validates it.
            for (start, end) in value_type.find(text, DateTime::UNIX_EPOCH) {
                if !found.judge(text, start, end) {
                    continue;
                }
                let surface = &text[start..end];
                found.matches.push(EntityMatch {
                    entity: self.name.clone(),
                    start,
                    end,
                    surface: surface.to_string(),
                    value: self.lookup(surface).unwrap_or(surface).to_string(),
                    source: MatchSource::Typed,
                    confidence: 1.0,
                });
            }
        }
        found.matches = remove_overlaps(std::mem::take(&mut found.matches));
        found
    }
}

mod found;
pub use found::{join_or, remove_overlaps, remove_overlaps_per_entity, Found};

/// Whether a word close to a listed one still names something else: its
/// numbers differ, or it is the listed word lengthened or shortened by more
/// than one letter (a doubled or dropped last letter is a slip; a suffix is
/// a different name).
fn names_another(word: &str, listed: &str) -> bool {
    let numbers = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_ascii_digit())
            .filter(|run| !run.is_empty())
            .map(str::to_string)
            .collect()
    };
    if numbers(word) != numbers(listed) {
        return true;
    }
    let (short, long) = if word.len() < listed.len() {
        (word, listed)
    } else {
        (listed, word)
    };
    match long.strip_prefix(short) {
        Some(rest) => rest.chars().count() > 1 || !rest.chars().all(char::is_alphabetic),
        None => false,
    }
}

#[cfg(test)]
#[path = "entity_tests.rs"]
mod tests;
