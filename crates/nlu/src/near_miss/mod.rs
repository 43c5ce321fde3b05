//! Near misses: requests in the bot's own vocabulary that no dialog serves.
//!
//! Out-of-scope examples cover far-away chatter; the real risk is "upgrade the
//! cluster to postgres 17" read as a failover because every other word is a
//! failover word. The judgement is learned from the bot's own examples: the
//! request word of a message (found past lead-ins and stated problems, see
//! [`predicate`]) is compared with the words of the examples of the intent it
//! was read as — in any inflection, or with a one-letter slip — then with the
//! words of the other intents (the two are asked about) and of the
//! out-of-scope examples (refused). A request word no example uses is new:
//! when it is the only new word of the message, the bot asks whether the
//! intent is what was meant ("Do you mean to restart a service?"); when other
//! words are new too, nothing the bot was taught is what was asked, and the
//! message is refused naming them.
//!
//! Questions ("how do I …?", "should I back up or restore …?", "is last
//! night's backup ok?") are told apart here too, so the engine can keep them
//! from starting an action that changes something.

mod forms;
mod lead_ins;
mod predicate;

use std::collections::{BTreeMap, HashSet};

use opsbot_spec::{Behaviour, EntityMatch, Project};

use forms::{has_form, knows, words};
use lead_ins::OPENERS;
use predicate::{content_words, request_words};

/// Words that open a question rather than a request. "can/could/would you"
/// are requests ("can you back up users"), so they are not here; "do" opens
/// a question only before a person ("do I need …", not "do a failover").
const QUESTION_WORDS: &[&str] = &[
    "how",
    "how's",
    "hows",
    "what",
    "what's",
    "whats",
    "why",
    "when",
    "when's",
    "where",
    "where's",
    "which",
    "who",
    "who's",
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

/// Words of no content in a request: they never make a message new to the bot.
const FUNCTION_WORDS: &[&str] = &[
    "a", "an", "the", "to", "on", "in", "at", "of", "for", "from", "with", "by", "and", "or", "it",
    "its", "it's", "this", "that", "these", "those", "them", "me", "us", "my", "our", "your",
    "their", "his", "her", "i", "we", "you", "please", "now", "again", "asap", "right", "away",
    "too", "all", "up", "out", "off", "over", "into", "onto", "as", "be", "is", "are", "was", "so",
    "then", "just", "real", "quick", "quickly", "there", "here", "one", "thanks", "thank", "pls",
];

/// The words of one intent's examples.
#[derive(Debug, Clone, Default)]
struct IntentWords {
    words: HashSet<String>,
    /// The request words of the examples ("backup" in "take a backup of
    /// billing").
    leads: HashSet<String>,
}

impl IntentWords {
    fn add(&mut self, text: &str) {
        // Each word with the stems it may come from: "bumped" in an example
        // serves "bump" in a message, as "bump" serves "bumped".
        self.words
            .extend(words(text).flat_map(|w| forms::stems(&w)));
        if let Some(lead) = request_words(text, &[]).into_iter().next() {
            self.leads.insert(lead.word);
        }
    }

    fn serves(&self, word: &str) -> bool {
        knows(&self.words, word)
    }
}

/// What the request word of a message says about the intent it was read as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestWord {
    /// It fits that intent's examples (or there is none to judge).
    Fits,
    /// Only another intent's examples use it: the two are asked about.
    Another(String),
    /// No example uses it, but every other word of the message is the
    /// intent's, or the message asks nothing in words (a problem stated):
    /// the bot asks whether the intent is what was meant.
    Unsure(Option<String>),
    /// No example of the intent uses it nor the message's other words, or
    /// the out-of-scope examples use it: a near miss, refused.
    Unserved(String),
}

/// The words of each intent's examples, of the out-of-scope examples and the
/// values of the entities: what the project's requests say.
#[derive(Debug, Clone, Default)]
pub struct ServedWords {
    by_intent: BTreeMap<String, IntentWords>,
    /// Intents whose dialog runs an action: only their requests are judged
    /// (a greeting or help never starts anything).
    acting: Option<HashSet<String>>,
    /// Intents whose dialog only reads: a new word for one is answered,
    /// saying how it was read, since a misreading changes nothing.
    reading: HashSet<String>,
    out_of_scope: HashSet<String>,
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
        for example in &project.out_of_scope {
            served.out_of_scope.extend(words(&example.text));
        }
        for entity in project.entities.values() {
            for value in entity.canonical_values() {
                served.values.extend(words(value));
            }
        }
        served.reading = project
            .intents
            .keys()
            .filter(|name| {
                project
                    .dialog_for_intent(name)
                    .is_some_and(|d| d.read_only && matches!(d.behaviour, Behaviour::Run { .. }))
            })
            .cloned()
            .collect();
        if !project.dialogs.is_empty() {
            served.acting = Some(
                project
                    .intents
                    .keys()
                    .filter(|name| {
                        project
                            .dialog_for_intent(name)
                            .is_some_and(|d| matches!(d.behaviour, Behaviour::Run { .. }))
                    })
                    .cloned()
                    .collect(),
            );
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

    /// Learns one out-of-scope example.
    pub fn add_out_of_scope(&mut self, text: &str) {
        self.out_of_scope.extend(words(text));
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
        let Some(own) = own else {
            return RequestWord::Fits;
        };
        if self.acting.as_ref().is_some_and(|a| !a.contains(intent)) {
            return RequestWord::Fits;
        }
        let clause = request_words(text, entities);
        let mut request = clause.iter();
        let Some(lead) = request.next() else {
            // Nothing asked in words ("something is wrong with apache"):
            // whether the intent is wanted is asked, when the message says
            // anything at all.
            return if content_words(text, entities).is_empty() {
                RequestWord::Fits
            } else {
                RequestWord::Unsure(None)
            };
        };
        // "a fresh backup": a modifier may come first; the word right after it
        // (a content word, not a value) is the request when it fits.
        let after = request
            .find(|w| !FUNCTION_WORDS.contains(&w.word.as_str()))
            .filter(|w| !w.is_value && w.word.chars().count() >= 4);
        let word = lead.word.clone();
        if lead.is_value
            || QUESTION_WORDS.contains(&word.as_str())
            || word.chars().any(|c| !c.is_alphabetic() && c != '\'')
            || has_form(&self.values, &word)
            || own.serves(&word)
        {
            return RequestWord::Fits;
        }
        if let Some((other, _)) = self
            .by_intent
            .iter()
            .find(|(name, words)| *name != intent && words.serves(&word))
        {
            return RequestWord::Another(other.clone());
        }
        if after.as_ref().is_some_and(|a| knows(&own.leads, &a.word)) {
            return RequestWord::Fits;
        }
        if knows(&self.out_of_scope, &word) {
            return RequestWord::Unserved(word);
        }
        // Only the request word is new: every other word of the message is
        // one the bot was taught (an example's or a value), or of no content.
        // Only the request's clause counts: a stated problem before it
        // ("research is running out of space, grow their quota") is context.
        let only_new = clause.iter().all(|w| {
            w.is_value
                || w.word == word
                || w.word.chars().count() < 2
                || FUNCTION_WORDS.contains(&w.word.as_str())
                || has_form(&self.values, &w.word)
                || own.serves(&w.word)
                || self.by_intent.values().any(|i| has_form(&i.words, &w.word))
        });
        if only_new || self.reading.contains(intent) {
            RequestWord::Unsure(Some(word))
        } else {
            RequestWord::Unserved(word)
        }
    }

    /// The message's words that no example or value uses, outside the values
    /// found: what the user said that the bot has no reading for ("tempdb" in
    /// "back up tempdb"), so a refusal can name it.
    pub fn unknown_words(&self, text: &str, entities: &[EntityMatch]) -> Vec<String> {
        content_words(text, entities)
            .into_iter()
            .filter(|w| {
                !w.is_value
                    && !self.values.contains(&w.word)
                    && !self.by_intent.values().any(|i| i.words.contains(&w.word))
            })
            .filter(|w| !OPENERS.contains(&w.word.as_str()))
            .filter(|w| !FUNCTION_WORDS.contains(&w.word.as_str()))
            .map(|w| w.word)
            .collect()
    }
}

/// What the request-word judgement would do with each of the project's
/// examples said for the first time (leave one out): the rule's cost, for
/// `opsbot evaluate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExampleCost {
    pub intent: String,
    pub text: String,
    pub judged: RequestWord,
}

/// The examples whose request word no other example of their intent fits
/// (leave-one-out): said for the first time, the bot would refuse them or
/// ask about them.
pub fn refused_if_new(project: &Project) -> Vec<ExampleCost> {
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
            // The values of the example's own spans stay values.
            let entities: Vec<EntityMatch> = example
                .spans
                .iter()
                .filter_map(|span| {
                    Some(EntityMatch {
                        entity: span.entity.clone(),
                        start: span.start,
                        end: span.end,
                        surface: example.text.get(span.start..span.end)?.to_string(),
                        value: span.value.clone(),
                        source: opsbot_spec::MatchSource::Lexicon,
                        confidence: 1.0,
                    })
                })
                .collect();
            let judged = served.judge_with(&example.text, &entities, &intent.name, Some(&own));
            if judged != RequestWord::Fits {
                found.push(ExampleCost {
                    intent: intent.name.clone(),
                    text: example.text.clone(),
                    judged,
                });
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

#[cfg(test)]
mod tests {
    use super::*;

    fn served(examples: &[(&str, &str)]) -> ServedWords {
        let mut s = ServedWords::default();
        for (intent, text) in examples {
            s.add(intent, text);
        }
        s.add_out_of_scope("uninstall the kernel");
        s
    }

    fn bot() -> ServedWords {
        served(&[
            ("backup", "back up the orders database"),
            ("backup", "take a backup of billing"),
            ("failover", "fail over the cluster pg-main"),
            ("restore", "restore orders"),
            ("restart", "restart apache on web-01"),
            ("kill", "kill the slow queries on billing"),
        ])
    }

    #[test]
    fn a_request_word_no_example_uses_is_refused_when_other_words_are_new_too() {
        let s = bot();
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
        // A read-only intent's request in a new word is answered, saying so.
        let mut reads = bot();
        reads.add("usage", "show storage usage for orders");
        reads.reading.insert("usage".into());
        assert_eq!(
            reads.judge("can you check the disk usage of orders", &[], "usage"),
            RequestWord::Unsure(Some("check".into()))
        );
        // The out-of-scope examples' words are refused outright.
        assert_eq!(judge("uninstall apache", "restart"), unserved("uninstall"));
    }

    #[test]
    fn a_new_request_word_alone_is_asked_about() {
        let s = bot();
        let judge = |t: &str, intent: &str| s.judge(t, &[], intent);
        let unsure = |w: &str| RequestWord::Unsure(Some(w.to_string()));
        assert_eq!(
            judge("nuke the slow queries on billing", "kill"),
            unsure("nuke")
        );
        assert_eq!(
            judge("bounce apache on web-01", "restart"),
            unsure("bounce")
        );
        assert_eq!(judge("can you cycle apache", "restart"), unsure("cycle"));
        // An example's "bumped" serves "bump".
        let mut s = bot();
        s.add("resize", "I need the research quota bumped to 1000 GiB");
        assert_eq!(
            s.judge("bump the quota of design", &[], "resize"),
            RequestWord::Fits
        );
        // A problem stated, nothing asked in words.
        assert_eq!(
            judge("something is wrong with apache", "restart"),
            RequestWord::Unsure(None)
        );
    }

    #[test]
    fn the_intents_words_in_any_form_fit() {
        let s = bot();
        let judge = |t: &str, intent: &str| s.judge(t, &[], intent);
        for (text, intent) in [
            ("back up billing", "backup"),
            ("please restore users", "restore"),
            ("restroe orders", "restore"),
            ("restrat apache", "restart"),
            ("make sure apache is restarted", "restart"),
            ("make sure we have a backup of orders", "backup"),
            (
                "there's a problem with apache, please restart it",
                "restart",
            ),
            ("I'd like to restart apache", "restart"),
            ("how big is the orders database", "backup"),
        ] {
            assert_eq!(judge(text, intent), RequestWord::Fits, "{text}");
        }
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
            "how's it going",
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
