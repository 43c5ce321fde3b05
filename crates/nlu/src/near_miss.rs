//! Near misses: requests in the bot's own vocabulary that no dialog serves.
//!
//! Out-of-scope examples cover far-away chatter; the real risk is "upgrade the
//! cluster to postgres 17" read as a failover because every other word is a
//! failover word. A request names what it wants done first ("upgrade …",
//! "please create …", "can you resize …"): when that request word appears in
//! no example of any intent, nor is a typo of one, no dialog was taught it,
//! and the message is refused however sure the classifier is.
//!
//! Questions ("how do I …?", "should I back up or restore …?", "is last
//! night's backup ok?") are told apart here too, so the engine can keep them
//! from starting an action that changes something.

use std::collections::HashSet;

use opsbot_spec::{EntityMatch, Project};

/// Words that open a request without saying what it is.
const OPENERS: &[&str] = &[
    "please",
    "pls",
    "plz",
    "kindly",
    "hey",
    "hi",
    "ok",
    "okay",
    "so",
    "now",
    "then",
    "and",
    "also",
    "just",
    "quickly",
    "go ahead and",
    "can you",
    "could you",
    "would you",
    "will you",
    "can u",
    "you can",
    "i want to",
    "i want you to",
    "i need to",
    "i need you to",
    "we need to",
    "i'd like to",
    "i would like to",
    "i'd like you to",
    "let's",
    "lets",
    "try to",
    "help me",
    "the",
    "a",
    "an",
    "my",
    "our",
];

/// Words that open a question rather than a request. "can/could/would you"
/// are requests ("can you back up users"), so they are not here; "do" opens
/// a question only before a person ("do I need …", not "do a failover").
const QUESTION_WORDS: &[&str] = &[
    "how",
    "what",
    "what's",
    "whats",
    "why",
    "when",
    "where",
    "which",
    "who",
    "whose",
    "is",
    "are",
    "was",
    "were",
    "does",
    "did",
    "should",
    "shall",
    "has",
    "have",
    "am",
    "isn't",
    "aren't",
    "doesn't",
    "didn't",
    "shouldn't",
];

/// The words of the project's intent examples and entity values: what its
/// requests may start with.
#[derive(Debug, Clone, Default)]
pub struct ServedWords {
    words: HashSet<String>,
}

impl ServedWords {
    pub fn from_project(project: &Project) -> ServedWords {
        let mut served = ServedWords::default();
        for intent in project.intents.values() {
            for example in &intent.examples {
                served.add(&example.text);
            }
        }
        for entity in project.entities.values() {
            for value in entity.canonical_values() {
                served.add(value);
            }
        }
        served
    }

    /// Learns the words of one text.
    pub fn add(&mut self, text: &str) {
        self.words.extend(words(text));
    }

    pub fn contains(&self, word: &str) -> bool {
        self.words.contains(word)
    }

    /// The request word of `text` when no example uses it nor a word one typo
    /// away (for words of four letters or more): what the message asks for
    /// is something no dialog was taught. `None` for questions, for messages
    /// that open with a value, and for served words.
    pub fn unserved_request_word(&self, text: &str, entities: &[EntityMatch]) -> Option<String> {
        let lead = request_words(text, entities).into_iter().next()?;
        if lead.is_value
            || QUESTION_WORDS.contains(&lead.word.as_str())
            || lead.word.chars().any(|c| !c.is_alphabetic() && c != '\'')
            || self.words.contains(&lead.word)
        {
            return None;
        }
        let near = lead.word.chars().count() >= 4
            && self.words.iter().any(|w| {
                w.len().abs_diff(lead.word.len()) <= 1
                    && strsim::damerau_levenshtein(w, &lead.word) <= 1
            });
        (!near).then_some(lead.word)
    }
}

impl ServedWords {
    /// The message's words that no example or value uses, outside the values
    /// found: what the user said that the bot has no reading for ("tempdb" in
    /// "back up tempdb"), so a refusal can name it.
    pub fn unknown_words(&self, text: &str, entities: &[EntityMatch]) -> Vec<String> {
        request_words(text, entities)
            .into_iter()
            .filter(|w| !w.is_value && !self.words.contains(&w.word))
            .filter(|w| !OPENERS.contains(&w.word.as_str()))
            .map(|w| w.word)
            .collect()
    }
}

/// Whether a message asks a question instead of making a request: it opens
/// with a question word ("how do I restore …", "should I back up …", "is the
/// backup ok?"), or with "do"/"can"/"may" before "I" or "we".
pub fn is_question(text: &str, entities: &[EntityMatch]) -> bool {
    let lead = request_words(text, entities);
    let first = lead.first().map(|w| w.word.as_str());
    let second = lead.get(1).map(|w| w.word.as_str());
    match (first, second) {
        (Some(w), _) if QUESTION_WORDS.contains(&w) => true,
        (Some("do" | "can" | "could" | "may" | "might"), Some("i" | "we")) => true,
        _ => false,
    }
}

struct Word {
    word: String,
    /// A value the extractor found ("orders", "web-01"), not a word.
    is_value: bool,
}

/// The message's words after the openers, values marked.
fn request_words(text: &str, entities: &[EntityMatch]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut cursor = 0;
    let mut spans: Vec<&EntityMatch> = entities.iter().collect();
    spans.sort_by_key(|m| m.start);
    for m in spans {
        if m.start < cursor || m.end > text.len() || !text.is_char_boundary(m.start) {
            continue;
        }
        out.extend(words(&text[cursor..m.start]).map(|word| Word {
            word,
            is_value: false,
        }));
        out.push(Word {
            word: m.surface.to_lowercase(),
            is_value: true,
        });
        cursor = m.end;
    }
    if text.is_char_boundary(cursor) {
        out.extend(words(&text[cursor..]).map(|word| Word {
            word,
            is_value: false,
        }));
    }
    // Drop the openers, longest first, as often as they come.
    let mut start = 0;
    'strip: loop {
        for opener in OPENERS_LONGEST_FIRST.iter() {
            let parts: Vec<&str> = opener.split(' ').collect();
            let fits = parts.iter().enumerate().all(|(i, p)| {
                out.get(start + i)
                    .is_some_and(|w| !w.is_value && w.word == *p)
            });
            // Keep at least one word: "please" alone is a word of its own.
            if fits && start + parts.len() < out.len() {
                start += parts.len();
                continue 'strip;
            }
        }
        break;
    }
    out.split_off(start)
}

static OPENERS_LONGEST_FIRST: std::sync::LazyLock<Vec<&'static str>> =
    std::sync::LazyLock::new(|| {
        let mut openers = OPENERS.to_vec();
        openers.sort_by_key(|o| std::cmp::Reverse(o.len()));
        openers
    });

fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '-'))
        .map(|w| w.trim_matches(['\'', '-']).to_lowercase())
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(texts: &[&str]) -> ServedWords {
        let mut s = ServedWords::default();
        for t in texts {
            s.add(t);
        }
        s
    }

    #[test]
    fn a_request_word_no_example_uses_is_unserved() {
        let s = served(&[
            "back up the orders database",
            "fail over pg-main",
            "restore orders",
        ]);
        let unserved = |t: &str| s.unserved_request_word(t, &[]);
        assert_eq!(
            unserved("upgrade the cluster to postgres 17").as_deref(),
            Some("upgrade")
        );
        assert_eq!(
            unserved("please create a new replica").as_deref(),
            Some("create")
        );
        assert_eq!(
            unserved("can you resize pg-main").as_deref(),
            Some("resize")
        );
        assert_eq!(unserved("back up billing"), None);
        assert_eq!(unserved("please restore users"), None);
        // A typo of a served word, a question and a bare value are not.
        assert_eq!(unserved("restroe orders"), None);
        assert_eq!(unserved("how big is the orders database"), None);
    }

    #[test]
    fn questions_are_told_from_requests() {
        for question in [
            "how do I back up orders?",
            "should I back up or restore orders?",
            "is last night's backup ok?",
            "what is the biggest database",
            "do I need a failover",
            "can we restore billing",
        ] {
            assert!(is_question(question, &[]), "{question}");
        }
        for request in [
            "back up orders",
            "can you back up users",
            "please restore billing",
            "do a failover on pg-main",
            "could you fail over pg-main?",
        ] {
            assert!(!is_question(request, &[]), "{request}");
        }
    }
}
