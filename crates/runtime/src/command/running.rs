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
        .split_whitespace()
        .filter(|w| !["the", "my", "our", "a", "it", "along", "now", "with"].contains(w))
        .map(str::to_string)
        .collect();
    (!words.is_empty()).then_some(Asked::About(words))
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
        assert_eq!(parse("what is running on web-01"), None);
        assert_eq!(parse("restart apache"), None);
        assert_eq!(parse("how far is it"), None);
    }
}
