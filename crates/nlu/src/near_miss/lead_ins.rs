//! The words around a request that are not the request: lead-ins ("can
//! you", "make sure", "I'd like"), light verbs, the openers of a stated
//! problem ("there's …", "something is …") and the words that start or
//! shape a clause. Grammar, not verbs: which verbs a bot serves is learned
//! from its examples (see the module above).

/// Words that open a request without saying what it is (with [`WANT`],
/// longest first when stripped). Light verbs ("do", "run", "take") are here too: the request is
/// the noun after them ("do a failover", "take a snapshot").
pub(super) const OPENERS: &[&str] = &[
    "please",
    "pls",
    "plz",
    "kindly",
    "hey",
    "hi",
    "hello",
    "ok",
    "okay",
    "so",
    "now",
    "then",
    "and",
    "also",
    "just",
    "quickly",
    "asap",
    "urgently",
    "again",
    "go ahead and",
    "go and",
    "can you",
    "could you",
    "would you",
    "will you",
    "can u",
    "could u",
    "can someone",
    "could someone",
    "can somebody",
    "can anyone",
    "would you mind",
    "you can",
    "you should",
    "we should",
    "i think we should",
    "i want to",
    "i want you to",
    "i need to",
    "i need you to",
    "we need to",
    "we need you to",
    "need to",
    "need you to",
    "we have to",
    "i have to",
    "have to",
    "got to",
    "gotta",
    "must",
    "i'd like to",
    "i would like to",
    "i'd like you to",
    "we'd like to",
    "i'd",
    "we'd",
    "i'll need",
    "let's",
    "lets",
    "try to",
    "help me",
    "make sure",
    "make sure to",
    "be sure to",
    "ensure",
    "see that",
    "time to",
    "the",
    "a",
    "an",
    "my",
    "our",
    "some",
    "me",
    "us",
    "do",
    "run",
    "make",
    "take",
    "perform",
    "get",
    "have",
];

/// Openers that are verbs of their own before a pronoun ("run it again").
pub(super) const LIGHT_VERBS: &[&str] = &["do", "run", "make", "take", "perform", "get", "have"];

/// Words that stand for a thing already named.
pub(super) const PRONOUNS: &[&str] = &["it", "them", "this", "that", "these", "those"];

/// Lead-ins that ask for a state ("make sure we have a backup of orders"):
/// after them, the subject and its verb of state are lead-ins too.
pub(super) const ENSURE: &[&str] = &[
    "make sure",
    "make sure that",
    "ensure",
    "ensure that",
    "see that",
    "be sure",
];

/// Lead-ins that want a thing in a state ("I need the alerts on web-01
/// muted"): the participle that ends the clause says what is wanted.
pub(super) const WANT: &[&str] = &[
    "i need",
    "we need",
    "i want",
    "we want",
    "i'd like",
    "we'd like",
    "i would like",
];

/// A subject and a verb of state, said after "make sure".
pub(super) const STATE_OPENERS: &[&str] = &[
    "we have",
    "we've got",
    "we got",
    "i have",
    "you have",
    "there is",
    "there's",
    "there are",
    "it is",
    "it's",
    "they are",
    "it gets",
];

/// How a clause that states a problem opens, after its lead-ins: "there's a
/// problem with …", "something is wrong with …", "it keeps crashing".
pub(super) const STATEMENT_OPENERS: &[&str] = &[
    "there's",
    "theres",
    "there",
    "it's",
    "its",
    "it",
    "this",
    "that",
    "something",
    "everything",
    "nothing",
    "looks",
    "seems",
    "i",
    "i'm",
    "we",
    "we're",
    "we've",
    "they",
    "they're",
    "someone",
    "somebody",
    "you",
    "you're",
];

/// Words that start a new clause inside a sentence ("…, please restart it",
/// "… so restart it", "… then fail over").
pub(super) const CLAUSE_WORDS: &[&str] = &["please", "pls", "plz", "so", "then"];

/// Words of a clause that say something is in a state ("apache is down",
/// "make sure it is restarted").
pub(super) const STATE_WORDS: &[&str] = &[
    "is", "are", "was", "were", "be", "been", "gets", "get", "got", "is'nt", "isn't", "keeps",
];
