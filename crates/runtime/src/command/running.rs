//! "what is running?" and "how far is the blue/green deploy?": questions
//! about what runs, or waits in the middle of a run, in the room — answered
//! from the conversations' stored state by `Conversations::answer_running`.

/// What a status question asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Asked {
    /// Everything running or waiting in the room.
    All,
    /// Only what these words name (a dialog's words, a value).
    About(Vec<String>),
}

/// Whole questions that ask what runs now.
const ALL: &[&str] = &[
    "what is running",
    "whats running",
    "what is running now",
    "what is running right now",
    "whats running now",
    "is anything running",
    "is something running",
    "anything running",
    "what are you running",
    "what are you doing",
    "what is in progress",
    "whats in progress",
];

/// The status question in `text`, if it is one. "how far is …" names what
/// it is about; its words must name something running for it to be one
/// (else it is the project's: "how far is pg-main behind?").
pub(crate) fn parse(text: &str) -> Option<Asked> {
    let norm = opsbot_dialog::phrases::normalise(&text.replace(['\'', '’'], ""));
    let norm = norm.trim();
    if ALL.contains(&norm) {
        return Some(Asked::All);
    }
    let rest = [
        "how far along is ",
        "how far along are ",
        "how far is ",
        "how far are ",
    ]
    .iter()
    .find_map(|lead| norm.strip_prefix(lead))?;
    let words: Vec<String> = rest
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !FILLER.contains(w))
        .map(str::to_string)
        .collect();
    (!words.is_empty()).then_some(Asked::About(words))
}

/// Words that name nothing in "how far is the patching of worker-23?".
const FILLER: &[&str] = &[
    "the", "my", "our", "your", "a", "an", "it", "that", "this", "along", "now", "with", "of",
    "for", "on", "to", "in", "at", "from",
];

/// Words that name any run: "how far is the runbook?".
const ANY_RUN: &[&str] = &[
    "runbook", "run", "job", "request", "action", "step", "steps", "thing",
];

/// Whether the question's `words` name what `about` (a request's dialog
/// name, intent, description and values, lower case) says: each word is
/// one of its words, or one begins the other in at least four letters
/// ("patching" and "patch"); words that name any run count for every one.
pub(crate) fn names(words: &[String], about: &str) -> bool {
    let named: Vec<&str> = about
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().all(|word| {
        ANY_RUN.contains(&word.as_str())
            || named.iter().any(|n| {
                let (short, long) = if n.len() <= word.len() {
                    (*n, word.as_str())
                } else {
                    (word.as_str(), *n)
                };
                short == long || (short.len() >= 4 && long.starts_with(short))
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_questions_are_told_apart_from_others() {
        assert_eq!(parse("What's running?"), Some(Asked::All));
        assert_eq!(parse("is anything running"), Some(Asked::All));
        assert_eq!(
            parse("how far is the blue-green deploy?"),
            Some(Asked::About(vec![
                "blue".into(),
                "green".into(),
                "deploy".into()
            ]))
        );
        let Some(Asked::About(words)) = parse("how far is the patching of worker-23?") else {
            panic!()
        };
        assert!(names(&words, "patch_node patch a node's kernel worker-23"));
        assert!(!names(&words, "patch_node patch a node's kernel worker-24"));
        let Some(Asked::About(any)) = parse("how far is the runbook?") else {
            panic!()
        };
        assert!(names(&any, "anything at all"));
        assert_eq!(parse("what is running on web-01"), None);
        assert_eq!(parse("restart apache"), None);
        assert_eq!(parse("how far is it"), None);
    }
}
