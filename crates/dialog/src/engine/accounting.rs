//! Every word accounted for: which parts of a message a decision used, and
//! the parts that look like values (a time, a duration, a number with its
//! sign or decimals, a name with digits, dashes or dots) that nothing used.
//! Those are named back before anything is asked or confirmed, so a request
//! is never confirmed with values that differ from what was written. A
//! negation ("do not …") never starts a change.

use super::*;
use opsbot_spec::ValueType;

pub(super) use super::negation::negation;

/// What kind of value an unused part looks like; it decides why it was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PartKind {
    Time,
    Duration,
    Number,
    Value,
    /// A word right after a number that the request used, which its
    /// examples never say ("2 TiB" where they say "400 GiB").
    Unit,
}

/// A part of a message that looks like a value and that no decision used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Unused {
    /// As written, with the words that introduce it ("at 21:00").
    pub text: String,
    pub kind: PartKind,
}

/// Words that make a time or a duration without a digit.
const TIME_WORDS: &[&str] = &[
    "yesterday",
    "tomorrow",
    "tonight",
    "noon",
    "midnight",
    "later",
    "weekend",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "morning",
    "afternoon",
    "evening",
];
const UNIT_WORDS: &[&str] = &[
    "seconds", "sec", "secs", "minute", "minutes", "min", "mins", "hour", "hours", "hr", "hrs",
    "day", "days", "week", "weeks", "month", "months",
];
/// Words that introduce a value and belong to it when it is named back.
const LEADING: &[&str] = &[
    "at", "for", "since", "by", "until", "till", "from", "in", "to", "the", "past", "last", "next",
    "this", "before", "after", "about", "of", "a", "an",
];
/// Words that end a value ("two hours ago", "9 am").
const TRAILING: &[&str] = &["ago", "from", "now", "am", "pm"];
/// Words that may follow a number without being a unit of it.
const CONNECTORS: &[&str] = &[
    "and",
    "or",
    "please",
    "then",
    "on",
    "with",
    "again",
    "instead",
    "too",
    "also",
    "thanks",
    "asap",
    "right",
    "immediately",
    "today",
    "so",
    "but",
    "if",
    "as",
    "is",
    "was",
    "are",
    "more",
    "less",
    "only",
    "each",
    "all",
    "it",
    "them",
];

/// One word of a message with its byte span, surrounding punctuation off.
struct Token<'t> {
    start: usize,
    end: usize,
    word: &'t str,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut offset = 0;
    for raw in text.split_inclusive(char::is_whitespace) {
        let trimmed_start = raw.len() - raw.trim_start_matches(is_edge).len();
        let word = raw
            .trim_start_matches(is_edge)
            .trim_end_matches(char::is_whitespace)
            .trim_end_matches(is_edge);
        if !word.is_empty() {
            let start = offset + trimmed_start;
            out.push(Token {
                start,
                end: start + word.len(),
                word,
            });
        }
        offset += raw.len();
    }
    out
}

/// Punctuation around a word that is never part of a value; a leading "-"
/// is kept (a sign).
fn is_edge(c: char) -> bool {
    matches!(
        c,
        ',' | ';' | '!' | '?' | '(' | ')' | '"' | '\'' | '“' | '”' | '‘' | '’' | '.' | ':'
    )
}

fn value_like(word: &str) -> Option<PartKind> {
    let lower = word.to_lowercase();
    if lower.starts_with('@') {
        return None; // a mention of someone, not a value for a slot
    }
    let number = lower.trim_start_matches(['-', '+']).replace(',', "");
    if !number.is_empty() && number.parse::<f64>().is_ok() {
        return Some(PartKind::Number);
    }
    if TIME_WORDS.contains(&lower.as_str())
        || lower.contains(':') && lower.chars().any(|c| c.is_ascii_digit())
        || (lower.ends_with("am") || lower.ends_with("pm"))
            && lower.chars().next().is_some_and(|c| c.is_ascii_digit())
    {
        return Some(PartKind::Time);
    }
    if UNIT_WORDS.contains(&lower.as_str()) {
        return Some(PartKind::Duration);
    }
    let joined = lower.char_indices().any(|(i, c)| {
        matches!(c, '-' | '.' | '/')
            && i > 0
            && lower[i + 1..]
                .chars()
                .next()
                .is_some_and(char::is_alphanumeric)
    });
    if lower.chars().any(|c| c.is_ascii_digit()) || joined {
        // "2h", "30m" are durations; anything else with digits or joints a name.
        let duration = opsbot_spec::types::ValueType::Duration
            .resolve(&lower, DateTime::UNIX_EPOCH)
            .is_some();
        return Some(if duration {
            PartKind::Duration
        } else {
            PartKind::Value
        });
    }
    None
}

/// The value-like parts of `text` outside `used` (byte spans the decision
/// took) and outside `wording` (the words of the intent's own examples).
pub(super) fn unused_parts(
    text: &str,
    used: &[(usize, usize)],
    wording: &BTreeSet<String>,
) -> Vec<Unused> {
    let tokens = tokens(text);
    let taken = |t: &Token| used.iter().any(|&(s, e)| t.start < e && s < t.end);
    let after_used_number = |i: usize| {
        i > 0
            && taken(&tokens[i - 1])
            && !taken(&tokens[i])
            && tokens[i - 1]
                .word
                .trim_start_matches(['-', '+'])
                .replace(',', "")
                .parse::<f64>()
                .is_ok()
    };
    let kinds: Vec<Option<PartKind>> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let lower = t.word.to_lowercase();
            if taken(t) || wording.contains(&lower) {
                None
            } else if after_used_number(i)
                && t.word.chars().all(char::is_alphabetic)
                && !LEADING.contains(&lower.as_str())
                && !TRAILING.contains(&lower.as_str())
                && !CONNECTORS.contains(&lower.as_str())
                && value_like(t.word).is_none()
            {
                Some(PartKind::Unit)
            } else {
                value_like(t.word)
            }
        })
        .collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if kinds[i].is_none() {
            i += 1;
            continue;
        }
        // A run of value-like words, with the words that introduce it.
        let mut first = i;
        while first > 0
            && !taken(&tokens[first - 1])
            && LEADING.contains(&tokens[first - 1].word.to_lowercase().as_str())
        {
            first -= 1;
        }
        let mut last = i;
        let mut kind = kinds[i].expect("checked");
        loop {
            let next_is_part = last + 1 < tokens.len()
                && (kinds[last + 1].is_some()
                    || !taken(&tokens[last + 1])
                        && TRAILING.contains(&tokens[last + 1].word.to_lowercase().as_str()));
            // "tomorrow at 9": one part, its words joined by a leading word.
            let joined_by_leading = last + 2 < tokens.len()
                && !taken(&tokens[last + 1])
                && LEADING.contains(&tokens[last + 1].word.to_lowercase().as_str())
                && kinds[last + 2].is_some();
            if next_is_part {
                last += 1;
            } else if joined_by_leading {
                last += 2;
            } else {
                break;
            }
            kind = stronger(kind, kinds[last]);
        }
        let leading: Vec<String> = tokens[first..i]
            .iter()
            .map(|t| t.word.to_lowercase())
            .collect();
        if kind == PartKind::Number && leading.iter().any(|w| w == "at" || w == "since") {
            kind = PartKind::Time;
        }
        if kind == PartKind::Duration && leading.iter().any(|w| w == "since" || w == "at") {
            kind = PartKind::Time;
        }
        parts.push(Unused {
            text: text[tokens[first].start..tokens[last].end].to_string(),
            kind,
        });
        i = last + 1;
    }
    parts
}

/// The kind a run of words has: a time word or unit makes the number in it
/// a time or a duration.
fn stronger(a: PartKind, b: Option<PartKind>) -> PartKind {
    let rank = |k: PartKind| match k {
        PartKind::Time => 3,
        PartKind::Duration => 2,
        PartKind::Number => 1,
        PartKind::Value | PartKind::Unit => 0,
    };
    match b {
        Some(b) if rank(b) > rank(a) => b,
        _ => a,
    }
}

/// The message with each value found in it replaced by "§", so a value's own
/// words ("not-prod") are never read as a negation.
pub(super) fn with_values_marked(u: &Understanding) -> String {
    let mut spans: Vec<(usize, usize)> = u
        .entities
        .iter()
        .map(|m| (m.start, m.end.min(u.text.len())))
        .collect();
    spans.sort();
    let mut out = String::new();
    let mut at = 0;
    for (start, end) in spans {
        if start < at || !u.text.is_char_boundary(start) || !u.text.is_char_boundary(end) {
            continue;
        }
        out.push_str(&u.text[at..start]);
        out.push_str(" § ");
        at = end;
    }
    out.push_str(&u.text[at..]);
    out
}

impl<'a> Step<'a> {
    /// The lower-cased words of the dialog's intent's examples outside their
    /// annotated values: its own wording is never a value left over (and a
    /// value in an example, "tomorrow at 9", is no wording).
    pub(super) fn wording(&self, dialog: &Dialog) -> BTreeSet<String> {
        let Some(intent) = self.project.intents.get(&dialog.intent) else {
            return BTreeSet::new();
        };
        let mut words = BTreeSet::new();
        for example in &intent.examples {
            let mut text = example.text.clone();
            for span in &example.spans {
                if let Some(value) = text.get(span.start..span.end) {
                    let blank = " ".repeat(value.len());
                    text.replace_range(span.start..span.end, &blank);
                }
            }
            words.extend(
                text.split_whitespace()
                    .map(|w| w.trim_matches(is_edge).to_lowercase())
                    .filter(|w| !w.chars().any(|c| c.is_ascii_digit())),
            );
        }
        words
    }

    /// Names the parts of `text` that look like values and that the request
    /// did not use, with why; kept as a note that the next question or
    /// confirmation starts with. Returns whether there were any.
    /// `named` are words already named back (an unknown value refused).
    pub(super) fn account(
        &mut self,
        dialog: &Dialog,
        text: &str,
        used: &[(usize, usize)],
        named: &[String],
    ) -> bool {
        let mut wording = self.wording(dialog);
        wording.extend(named.iter().map(|w| w.to_lowercase()));
        let parts = unused_parts(text, used, &wording);
        if parts.is_empty() {
            return false;
        }
        let reasons: Vec<String> = parts
            .iter()
            .map(|p| format!("“{}”: {}", p.text, self.why_unused(dialog, p)))
            .collect();
        let note = format!("I did not use {}.", reasons.join("; "));
        self.explain(note.clone(), Some(&dialog.name));
        self.notes.push(note);
        true
    }

    fn why_unused(&self, dialog: &Dialog, part: &Unused) -> String {
        let kind = part.kind;
        let wanted: &[ValueType] = match kind {
            PartKind::Time => &[ValueType::DateTime],
            // "the past hour" may be meant as a time ("since an hour ago").
            PartKind::Duration => &[ValueType::Duration, ValueType::DateTime],
            PartKind::Number => &[ValueType::Integer, ValueType::Number],
            PartKind::Value => &[],
            PartKind::Unit => {
                return format!(
                    "a request to {} never says it after a number, so I read the number before it as written, without it",
                    dialog.description
                )
            }
        };
        // A number is also meant for a slot that takes its digits without
        // the sign or decimals ("-2" or "2.5" for a number of days).
        let digits: String = part
            .text
            .split_whitespace()
            .last()
            .unwrap_or_default()
            .trim_start_matches(['-', '+'])
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string();
        // A slot of the part's own type first ("2.5" is about the TTL, an
        // integer), then one that takes its digits.
        let typed = dialog.slots.iter().find(|s| {
            self.project
                .entities
                .get(&s.entity)
                .and_then(|e| e.value_type())
                .is_some_and(|t| wanted.contains(&t))
        });
        let slot = typed.or_else(|| {
            dialog.slots.iter().find(|s| {
                kind == PartKind::Number
                    && self
                        .project
                        .entities
                        .get(&s.entity)
                        .is_some_and(|e| e.validate(&digits, self.ctx.now).is_ok())
            })
        });
        let description = &dialog.description;
        match (kind, slot) {
            (_, Some(slot)) => {
                let name = slot.name.replace(['_', '-'], " ");
                match &slot.default {
                    Some(default) => format!(
                        "I could not read it as the {name}, so the {name} is its default, {default}"
                    ),
                    None => format!("I could not read it as the {name} (I did not guess one)"),
                }
            }
            (PartKind::Time, None) if dialog.read_only => {
                format!("I can only {description} as things are now, not for a time you name")
            }
            // A dialog that waits for a time did not take this one: it is
            // past (or now), which is said, not a false "cannot".
            (PartKind::Time, None) if dialog.schedulable => {
                self.time_not_to_come(dialog, &part.text)
            }
            // The confirmation that follows is for now: said so, since the
            // person asked for another time.
            (PartKind::Time, None) => {
                format!("I cannot {description} at a given time, only now — a yes does it now")
            }
            (PartKind::Duration, None) => {
                format!("a request to {description} takes no duration")
            }
            (PartKind::Number, None) => format!("a request to {description} takes no number"),
            (PartKind::Unit, None) => unreachable!("answered above"),
            (PartKind::Value, None) => {
                let names: Vec<&str> = dialog.slots.iter().map(|s| s.name.as_str()).collect();
                if names.is_empty() {
                    format!("a request to {description} takes no value")
                } else {
                    format!(
                        "I know no {} by that name",
                        opsbot_spec::join_or(&names).replace(['_', '-'], " ")
                    )
                }
            }
        }
    }

    /// The notes of this step, said before `text` ("I did not use … . Which
    /// service …?").
    pub(super) fn noted(&mut self, text: String) -> String {
        if self.notes.is_empty() {
            return text;
        }
        let notes = std::mem::take(&mut self.notes).join(" ");
        if text.is_empty() {
            notes
        } else {
            format!("{notes} {text}")
        }
    }

    /// A change asked for with a negation ("please do not roll back shop")
    /// never starts: says so. Returns whether it refused.
    pub(super) fn refuse_negated(&mut self, dialog: &Dialog, u: &Understanding) -> bool {
        if dialog.read_only || !matches!(dialog.behaviour, Behaviour::Run { .. }) {
            return false;
        }
        let Some(words) = negation(&with_values_marked(u)) else {
            return false;
        };
        let said = format!(
            "Your message says “{words}”, so I did not start anything: I {} only when asked to plainly.",
            dialog.description
        );
        self.say(format!(
            "{said} If you do want it, say it without “{words}”."
        ));
        self.explain(said, Some(&dialog.name));
        self.read_as(u, None);
        true
    }
}

#[cfg(test)]
#[path = "accounting_tests.rs"]
mod tests;
