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
    "i need",
    "we need",
    "i want",
    "we want",
    "i'd like",
    "i would like",
    "the",
    "a",
    "an",
    "my",
    "our",
    "some",
    // Light verbs: the request is the noun after them ("do a failover",
    // "run a backup", "take a snapshot").
    "do",
    "run",
    "make",
    "take",
    "perform",
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

/// Groups of request words that ask for the same kind of thing in operations
/// talk. A request word is served when an example starts with a word of its
/// group ("reboot" where examples say "restart"), so paraphrases pass while
/// verbs of another kind ("upgrade", "delete", "create") stay refused. Only
/// examples' request words count here, not every word they contain.
const KINDRED: &[&[&str]] = &[
    &[
        "start", "run", "launch", "trigger", "kick", "begin", "execute", "fire",
    ],
    &[
        "rerun",
        "retry",
        "retrigger",
        "restart",
        "rebuild",
        "redo",
        "rerun",
    ],
    &[
        "restart", "reboot", "bounce", "cycle", "reload", "recycle", "kick",
    ],
    &[
        "stop",
        "kill",
        "terminate",
        "cancel",
        "abort",
        "end",
        "halt",
        "shut",
    ],
    &[
        "deploy", "ship", "release", "push", "roll", "promote", "send", "publish",
    ],
    &["rollback", "roll", "revert", "undo", "downgrade"],
    &["backup", "back", "snapshot", "dump", "save", "copy"],
    &["restore", "recover", "rewind", "roll", "bring"],
    &[
        "show", "list", "display", "check", "get", "view", "see", "print", "tell", "give",
    ],
    &[
        "set", "change", "scale", "resize", "adjust", "bump", "increase", "raise", "lower",
        "reduce",
    ],
    &["silence", "mute", "quiet", "snooze", "suppress", "hush"],
    &[
        "extend", "lengthen", "prolong", "bump", "add", "increase", "give",
    ],
    &["create", "provision", "new"],
    &["delete", "remove", "drop", "destroy", "purge", "erase"],
    &["fail", "failover", "switch", "flip", "promote"],
];

/// The words of one intent's examples, and the words they start with.
#[derive(Debug, Clone, Default)]
struct IntentWords {
    words: HashSet<String>,
    leads: HashSet<String>,
}

impl IntentWords {
    fn add(&mut self, text: &str) {
        self.words.extend(words(text));
        if let Some(lead) = request_words(text, &[]).into_iter().next() {
            self.leads.insert(lead.word);
        }
    }

    /// Whether `word` fits these examples: one of their words, a typo of one
    /// (four letters or more), or of the kind of a word they start with.
    fn serves(&self, word: &str) -> bool {
        self.words.contains(word)
            || (word.chars().count() >= 4
                && self.words.iter().any(|w| {
                    w.len().abs_diff(word.len()) <= 1 && strsim::damerau_levenshtein(w, word) <= 1
                }))
            || KINDRED
                .iter()
                .filter(|group| group.contains(&word))
                .any(|group| group.iter().any(|w| self.leads.contains(*w)))
    }
}

/// What the request word of a message says about the intent it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestWord {
    /// It fits that intent's examples (or there is none to judge).
    Fits,
    /// Only another intent's examples use it: the two are asked about.
    Another(String),
    /// No example of any intent uses it: a near miss, refused.
    Unserved(String),
}

/// The words of each intent's examples, and the values of the entities:
/// what the project's requests say.
#[derive(Debug, Clone, Default)]
pub struct ServedWords {
    by_intent: std::collections::BTreeMap<String, IntentWords>,
    values: HashSet<String>,
}

impl ServedWords {
    pub fn from_project(project: &Project) -> ServedWords {
        let mut served = ServedWords::default();
        for intent in project.intents.values() {
            let words = served.by_intent.entry(intent.name.clone()).or_default();
            for example in &intent.examples {
                words.add(&example.text);
            }
        }
        for entity in project.entities.values() {
            for value in entity.canonical_values() {
                served.values.extend(words(value));
            }
        }
        served
    }

    /// Learns one example of an intent.
    pub fn add(&mut self, intent: &str, text: &str) {
        self.by_intent
            .entry(intent.to_string())
            .or_default()
            .add(text);
    }

    /// Judges the request word of `text` ("upgrade" in "please upgrade the
    /// cluster") against the examples of `intent`, the intent it was read as.
    pub fn judge(&self, text: &str, entities: &[EntityMatch], intent: &str) -> RequestWord {
        self.judge_with(text, entities, intent, self.by_intent.get(intent))
    }

    /// [`ServedWords::judge`] with `own` standing for the intent's examples
    /// (leave-one-out scoring swaps in all but one).
    fn judge_with(
        &self,
        text: &str,
        entities: &[EntityMatch],
        intent: &str,
        own: Option<&IntentWords>,
    ) -> RequestWord {
        let mut request = request_words(text, entities).into_iter();
        let Some(lead) = request.next() else {
            return RequestWord::Fits;
        };
        // "a fresh backup": a modifier may come first; the word right after it
        // (a content word, not a value) is the request when it fits.
        let after = request
            .next()
            .filter(|w| !w.is_value && w.word.chars().count() >= 4);
        let word = lead.word;
        if lead.is_value
            || QUESTION_WORDS.contains(&word.as_str())
            || word.chars().any(|c| !c.is_alphabetic() && c != '\'')
            || self.values.contains(&word)
        {
            return RequestWord::Fits;
        }
        match own {
            None => return RequestWord::Fits,
            Some(own) if own.serves(&word) => return RequestWord::Fits,
            Some(own) if after.as_ref().is_some_and(|a| own.serves(&a.word)) => {
                return RequestWord::Fits
            }
            Some(_) => {}
        }
        match self
            .by_intent
            .iter()
            .find(|(name, words)| *name != intent && words.serves(&word))
        {
            Some((other, _)) => RequestWord::Another(other.clone()),
            None => RequestWord::Unserved(word),
        }
    }

    /// The message's words that no example or value uses, outside the values
    /// found: what the user said that the bot has no reading for ("tempdb" in
    /// "back up tempdb"), so a refusal can name it.
    pub fn unknown_words(&self, text: &str, entities: &[EntityMatch]) -> Vec<String> {
        request_words(text, entities)
            .into_iter()
            .filter(|w| {
                !w.is_value
                    && !self.values.contains(&w.word)
                    && !self.by_intent.values().any(|i| i.words.contains(&w.word))
            })
            .filter(|w| !OPENERS.contains(&w.word.as_str()))
            .map(|w| w.word)
            .collect()
    }
}

/// The examples whose request word no other example of their intent fits
/// (leave-one-out): said for the first time, the bot would refuse them or
/// ask which was meant. The request-word rule's cost, for `opsbot evaluate`:
/// (intent, text, whether it would be refused rather than asked about).
pub fn refused_if_new(project: &Project) -> Vec<(String, String, bool)> {
    let served = ServedWords::from_project(project);
    let mut found = Vec::new();
    for intent in project.intents.values() {
        for (i, example) in intent.examples.iter().enumerate() {
            let mut own = IntentWords::default();
            for (j, other) in intent.examples.iter().enumerate() {
                if i != j {
                    own.add(&other.text);
                }
            }
            match served.judge_with(&example.text, &[], &intent.name, Some(&own)) {
                RequestWord::Fits => {}
                RequestWord::Another(_) => {
                    found.push((intent.name.clone(), example.text.clone(), false))
                }
                RequestWord::Unserved(_) => {
                    found.push((intent.name.clone(), example.text.clone(), true))
                }
            }
        }
    }
    found
}

/// Whether a message asks a question instead of making a request: it opens
/// with a question word ("how do I restore …", "should I back up …", "is the
/// backup ok?"), or with "do"/"can"/"may" before "I" or "we".
pub fn is_question(text: &str, entities: &[EntityMatch]) -> bool {
    // Only greetings and fillers come off: "do I …" must stay a question.
    const FILLERS: &[&str] = &[
        "please", "hey", "hi", "ok", "okay", "so", "and", "also", "just", "um",
    ];
    let all: Vec<String> = words(text).collect();
    let skip = all
        .iter()
        .take_while(|w| FILLERS.contains(&w.as_str()))
        .count();
    let _ = entities;
    let first = all.get(skip).map(String::as_str);
    let second = all.get(skip + 1).map(String::as_str);
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

    fn served(examples: &[(&str, &str)]) -> ServedWords {
        let mut s = ServedWords::default();
        for (intent, text) in examples {
            s.add(intent, text);
        }
        s
    }

    #[test]
    fn a_request_word_no_example_uses_is_unserved() {
        let s = served(&[
            ("backup", "back up the orders database"),
            ("failover", "fail over pg-main"),
            ("restore", "restore orders"),
            ("restart", "restart apache"),
        ]);
        let judge = |t: &str, intent: &str| s.judge(t, &[], intent);
        let unserved = |w: &str| RequestWord::Unserved(w.to_string());
        assert_eq!(
            judge("upgrade the cluster to postgres 17", "failover"),
            unserved("upgrade")
        );
        assert_eq!(
            judge("please create a new replica", "failover"),
            unserved("create")
        );
        assert_eq!(
            judge("can you resize the cluster", "failover"),
            unserved("resize")
        );
        assert_eq!(judge("back up billing", "backup"), RequestWord::Fits);
        assert_eq!(judge("please restore users", "restore"), RequestWord::Fits);
        // A typo, a word of the same kind, a question: they fit.
        assert_eq!(judge("restroe orders", "restore"), RequestWord::Fits);
        assert_eq!(judge("reboot apache", "restart"), RequestWord::Fits);
        assert_eq!(
            judge("how big is the orders database", "backup"),
            RequestWord::Fits
        );
        // Read as one intent, worded as another: both are asked about.
        assert_eq!(
            judge("restore the backup", "backup"),
            RequestWord::Another("restore".into())
        );
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
