//! Yes, no and cancel in the many ways people say them.
//!
//! Listed rather than learned: the set is small, closed and must never surprise;
//! the tests below pin every variant.

/// What a reply to a yes/no question means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Yes,
    /// No, cancel, never mind: the whole message is a refusal.
    No,
    /// "no, on web-03": a refusal followed by something else, usually a correction.
    NoBut(String),
    Other,
}

const YES: &[&str] = &[
    "yes",
    "y",
    "ya",
    "yeah",
    "yea",
    "yep",
    "yup",
    "sure",
    "ok",
    "okay",
    "go",
    "go ahead",
    "go for it",
    "do it",
    "just do it",
    "confirm",
    "confirmed",
    "proceed",
    "affirmative",
    "please do",
    "yes please",
    "yes do it",
    "sounds good",
    "ship it",
    "correct",
    "right",
    "absolutely",
    "of course",
    "definitely",
    "lgtm",
    "run it",
    "let's go",
    "lets go",
    "yes go ahead",
    "ok go ahead",
    "sure go ahead",
    "approved",
    "👍",
    "✅",
];

const NO: &[&str] = &[
    "no",
    "n",
    "nope",
    "nah",
    "no way",
    "stop",
    "cancel",
    "cancel that",
    "cancel it",
    "abort",
    "never mind",
    "nevermind",
    "nvm",
    "forget it",
    "forget about it",
    "don't",
    "dont",
    "do not",
    "don't do it",
    "do not do it",
    "no thanks",
    "no thank you",
    "negative",
    "scratch that",
    "not now",
    "no stop",
    "stop it",
    "quit",
    "drop it",
    "no don't",
    "👎",
    "❌",
];

/// Every word or phrase taken as a yes (for tests that must cover them all).
pub fn yes_words() -> &'static [&'static str] {
    YES
}

/// Lower case, punctuation dropped, spaces collapsed ("Go ahead!" → "go ahead").
pub fn normalise(text: &str) -> String {
    let keep = |c: char| {
        c.is_alphanumeric()
            || c == '\''
            || (!c.is_ascii() && !c.is_whitespace() && !is_punctuation(c))
    };
    let cleaned: String = text
        .chars()
        .map(|c| if keep(c) { c } else { ' ' })
        .flat_map(lower)
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `c` in lower case, unless that would turn a look-alike into ASCII: the
/// KELVIN SIGN lowers to `k` and DOTTED CAPITAL I to `i` plus a dot, so
/// "oK" (with U+212A) would read as "ok" and confirm. Only genuine ASCII
/// letters match the ASCII words above.
fn lower(c: char) -> impl Iterator<Item = char> {
    let lowered: Vec<char> = if c.is_ascii() {
        vec![c.to_ascii_lowercase()]
    } else if c.to_lowercase().any(|l| l.is_ascii()) {
        vec![c]
    } else {
        c.to_lowercase().collect()
    };
    lowered.into_iter()
}

fn is_punctuation(c: char) -> bool {
    matches!(c, '…' | '“' | '”' | '‘' | '’' | '«' | '»' | '–' | '—')
}

pub fn strip_politeness(text: &str) -> &str {
    let mut t = text;
    for suffix in [" please", " thanks", " thank you", " now", " then"] {
        if let Some(rest) = t.strip_suffix(suffix) {
            t = rest;
        }
    }
    t
}

pub fn classify(text: &str) -> Answer {
    let norm = normalise(text);
    let core = strip_politeness(&norm);
    if is_yes_phrase(&norm) {
        // "ok?", "right?", "go?": a question is never a yes.
        if is_question(text) {
            return Answer::Other;
        }
        return Answer::Yes;
    }
    if NO.contains(&core) || NO.contains(&norm.as_str()) {
        return Answer::No;
    }
    // "no, on web-03" / "nope - web-03": a refusal leading into something else.
    let original = text.trim();
    let separator = |c: char| matches!(c, ',' | ' ' | '-' | ':' | ';' | '.' | '!');
    for lead in ["no", "nope", "nah"] {
        let Some(head) = original.get(..lead.len()) else {
            continue;
        };
        let remainder = &original[lead.len()..];
        if head.eq_ignore_ascii_case(lead) && remainder.starts_with(separator) {
            let remainder = remainder.trim_start_matches(separator);
            if !remainder.is_empty() {
                return Answer::NoBut(remainder.to_string());
            }
        }
    }
    Answer::Other
}

/// The first piece of shell syntax in a message (`;`, `|`, `&&`, `$(`, `${`,
/// a backtick, a redirection to a path), if any. Such a message is judged whole
/// and refused: taking the plain words around it (`web-01` from
/// `web-01 ; touch /tmp/x`) would act on something other than what was written.
pub fn shell_syntax(text: &str) -> Option<String> {
    static REDIRECT: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        // `&` opening a word puts what comes before it in the background and
        // runs the word ("web-01 &touch /tmp/x"); "R&D" and "a & b" are prose.
        regex::Regex::new(r"(?:^|\s)\d?(?:>>?|<)\s*[/~&$]|\s&\s*$|(?:^|\s)&[^\s&]")
            .expect("valid regex")
    });
    for sequence in ["$(", "${", "`", "&&", ";", "|"] {
        if text.contains(sequence) {
            return Some(sequence.to_string());
        }
    }
    REDIRECT.find(text).map(|m| {
        let operator: String = m
            .as_str()
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_digit() || matches!(c, '<' | '>'))
            .collect();
        if operator.is_empty() {
            "&".to_string()
        } else {
            operator
        }
    })
}

/// Whether a message asks rather than tells: it carries a question mark
/// (also the full-width and inverted ones), wherever it is.
pub fn is_question(text: &str) -> bool {
    text.contains(['?', '？', '¿', '⁇', '❓', '❔'])
}

/// "ok?", "sure?", "yes?": a yes word asked as a question, which never
/// confirms; the engine says why it asks again.
pub fn is_questioning_yes(text: &str) -> bool {
    is_question(text) && is_yes_phrase(&normalise(text))
}

/// Whether normalised text is a yes word, with or without a polite tail.
fn is_yes_phrase(norm: &str) -> bool {
    YES.contains(&strip_politeness(norm)) || YES.contains(&norm)
}

/// A TOTP code as people type it: six digits, perhaps split by a space.
pub fn totp_code(text: &str) -> Option<String> {
    let digits: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    (digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit())).then_some(digits)
}

/// Whether a message opens like a follow-up to the previous request: "and on
/// web-02", "also for staging", "same for redis", "now web-03", "what about
/// db-01?".
pub fn is_follow_up(text: &str) -> bool {
    let lower = text.trim().to_lowercase();
    [
        "and ",
        "also ",
        "same for ",
        "same on ",
        "same with ",
        "same thing for ",
        "same thing on ",
        "now ",
        "then ",
        "what about ",
        "how about ",
        "again for ",
        "again on ",
        "and also ",
    ]
    .iter()
    .any(|opening| lower.starts_with(opening))
}

/// Whether the whole message abandons the current request.
pub fn is_cancel(text: &str) -> bool {
    classify(text) == Answer::No
}

#[cfg(test)]
#[path = "phrases_tests.rs"]
mod tests;

/// Lower case without apostrophes or punctuation, and without a leading "no",
/// "sorry" or "oops" ("No, that's not what I meant!" → "thats not what i meant").
fn bare(text: &str) -> String {
    let norm = normalise(&text.replace(['\'', '’'], ""));
    let mut core = strip_politeness(&norm);
    for lead in ["no ", "nope ", "nah ", "sorry ", "oops ", "hmm ", "um "] {
        core = core.strip_prefix(lead).unwrap_or(core);
    }
    core.to_string()
}

/// "that's not what I meant", "you misunderstood", "wrong": the user says the
/// bot misread their last message.
pub fn is_disowning(text: &str) -> bool {
    const DISOWN: &[&str] = &[
        "thats not what i meant",
        "that is not what i meant",
        "that was not what i meant",
        "that wasnt what i meant",
        "not what i meant",
        "thats not what i asked",
        "that is not what i asked",
        "not what i asked",
        "thats not what i asked for",
        "not what i asked for",
        "thats not what i wanted",
        "not what i wanted",
        "thats not what i said",
        "thats wrong",
        "that is wrong",
        "that was wrong",
        "wrong",
        "wrong one",
        "wrong intent",
        "you misunderstood",
        "you misunderstood me",
        "you got that wrong",
        "you got it wrong",
        "misunderstood",
        "i meant something else",
        "thats not it",
    ];
    DISOWN.contains(&bare(text).as_str())
}

/// "none of these", "neither", "something else": none of the offered options.
pub fn is_none_of_these(text: &str) -> bool {
    const NONE: &[&str] = &[
        "none",
        "none of these",
        "none of those",
        "none of them",
        "neither",
        "neither of them",
        "neither of these",
        "nothing",
        "something else",
        "none of the above",
        "other",
    ];
    NONE.contains(&bare(text).as_str())
}

/// "the first", "2", "the latter": which of the offered options a reply picks
/// by position (0-based), if it does.
pub fn ordinal_choice(text: &str, options: usize) -> Option<usize> {
    let norm = normalise(text);
    let core = strip_politeness(&norm);
    let core = core
        .trim_start_matches("the ")
        .trim_start_matches("i meant ")
        .trim_start_matches("i mean ")
        .trim_start_matches("the ")
        .trim_end_matches(" one")
        .trim_end_matches(" option");
    let index = match core {
        "1" | "1st" | "first" | "one" | "former" | "a" => 0,
        "2" | "2nd" | "second" | "two" | "latter" | "b" => 1,
        "3" | "3rd" | "third" | "three" | "c" => 2,
        "last" => options.checked_sub(1)?,
        _ => return None,
    };
    (index < options).then_some(index)
}

#[cfg(test)]
mod choice_tests {
    use super::{is_disowning, is_none_of_these, ordinal_choice};

    #[test]
    fn disowning_and_none_of_these() {
        for text in [
            "that's not what I meant",
            "No, that’s not what I meant!",
            "you misunderstood me",
            "wrong",
            "Not what I asked for.",
        ] {
            assert!(is_disowning(text), "{text}");
        }
        for text in [
            "restart apache",
            "what went wrong",
            "no",
            "is it wrong to restart",
        ] {
            assert!(!is_disowning(text), "{text}");
        }
        for text in ["none of these", "Neither.", "something else please"] {
            assert!(is_none_of_these(text), "{text}");
        }
        assert!(!is_none_of_these("the first"));
    }

    #[test]
    fn ordinals_pick_options_by_position() {
        for (text, expected) in [
            ("the first", Some(0)),
            ("first one", Some(0)),
            ("1", Some(0)),
            ("The second, please", Some(1)),
            ("the latter", Some(1)),
            ("last", Some(1)),
            ("third", None),
            ("deploy", None),
        ] {
            assert_eq!(ordinal_choice(text, 2), expected, "{text}");
        }
    }
}
