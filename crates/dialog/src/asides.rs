//! Questions about the bot's own decisions and choices, asked in between:
//! "why?" after a refusal, "who can do that?", "which ones are there?" while a
//! value is asked for, and answers by number ("2", "the third one").

use crate::phrases::{normalise, ordinal_choice};

/// "why?", "why not?", "how come?", "why did you refuse": asks for the reason
/// of the bot's last decision.
pub fn is_why(text: &str) -> bool {
    let core = normalise(text);
    const WHY: &[&str] = &[
        "why",
        "why not",
        "how come",
        "why is that",
        "why was that",
        "why that",
        "why did you refuse",
        "why did you refuse that",
        "why was that refused",
        "why was it refused",
        "why did that fail",
        "why can't i",
        "why cant i",
        "why not me",
        "what was wrong",
        "what was wrong with that",
        "explain",
        "explain that",
        "explain please",
        "please explain",
    ];
    WHY.contains(&core.as_str())
}

/// "who can do that?", "who may do this", "who is allowed to": asks who may
/// run the dialog of the last decision (or the one the rest names:
/// "who can fail over pg-main?" keeps the rest for the NLU).
pub fn who_can(text: &str) -> Option<WhoCan> {
    let core = normalise(text);
    for lead in [
        "who can",
        "who may",
        "who is allowed to",
        "who's allowed to",
        "whos allowed to",
        "who is able to",
        "who has access to",
        "who gets to",
    ] {
        let Some(rest) = core.strip_prefix(lead) else {
            continue;
        };
        let rest = rest.trim();
        return Some(match rest {
            "" | "do that" | "do this" | "do it" | "run that" | "run this" | "run it" | "then"
            | "approve that" | "approve it" => WhoCan::ThatOne,
            _ => WhoCan::Named(rest.to_string()),
        });
    }
    None
}

/// What "who can …" is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WhoCan {
    /// The dialog of the last decision ("who can do that?").
    ThatOne,
    /// A request said after it ("who can fail over pg-main").
    Named(String),
}

/// "which ones are there?", "what are the options?", "list them": asks for
/// the choices of the value being asked for.
pub fn is_which_ones(text: &str) -> bool {
    let core = normalise(text);
    const WHICH: &[&str] = &[
        "which ones are there",
        "which ones",
        "which are there",
        "what are the options",
        "what are my options",
        "what options are there",
        "what options do i have",
        "what choices are there",
        "what are the choices",
        "what can i choose",
        "what can i pick",
        "what is there",
        "what's there",
        "whats there",
        "options",
        "choices",
        "list them",
        "list the options",
        "show me the options",
        "show the options",
        "which can i choose",
        "which do you know",
        "what do you know",
    ];
    WHICH.contains(&core.as_str())
}

/// An answer by number to a numbered list of `options`: "2", "#2", "number
/// 2", "the second one", "the last".
pub fn numbered_choice(text: &str, options: usize) -> Option<usize> {
    let core = normalise(text);
    let core = core
        .trim_start_matches("number ")
        .trim_start_matches("no ")
        .trim_start_matches("option ")
        .trim();
    let digits = core.trim_start_matches('#');
    if let Ok(n) = digits.parse::<usize>() {
        return (1..=options).contains(&n).then(|| n - 1);
    }
    const MORE: &[&str] = &[
        "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    ];
    let word = core
        .trim_start_matches("the ")
        .trim_end_matches(" one")
        .trim_end_matches(" option");
    if let Some(i) = MORE.iter().position(|w| *w == word) {
        return (i + 3 < options).then_some(i + 3);
    }
    ordinal_choice(text, options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asides_are_recognised() {
        for text in ["why?", "Why not?", "how come", "why was that refused?"] {
            assert!(is_why(text), "{text}");
        }
        assert!(!is_why("why is the replica lagging"));
        assert_eq!(who_can("Who can do that?"), Some(WhoCan::ThatOne));
        assert_eq!(
            who_can("who can fail over pg-main"),
            Some(WhoCan::Named("fail over pg main".into()))
        );
        assert_eq!(who_can("restart apache"), None);
        for text in ["which ones are there?", "What are the options", "list them"] {
            assert!(is_which_ones(text), "{text}");
        }
        assert!(!is_which_ones("orders"));
    }

    #[test]
    fn numbered_answers_pick_by_position() {
        for (text, expected) in [
            ("2", Some(1)),
            ("#3", Some(2)),
            ("number 1", Some(0)),
            ("the first one", Some(0)),
            ("the fourth", Some(3)),
            ("the last one", Some(3)),
            ("5", None),
            ("0", None),
            ("orders", None),
        ] {
            assert_eq!(numbered_choice(text, 4), expected, "{text}");
        }
    }
}
