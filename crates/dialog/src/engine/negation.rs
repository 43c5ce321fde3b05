//! Negation: the words that say not to do what follows ("do not roll back
//! …", "never to production", "no need to …"), so a negated request never
//! starts a change and a negated value is never used.

/// Words that say not to do what follows ("do not roll back …", "never to
/// production": a negated value is never used either). "stop" only before a
/// verb in -ing ("stop restarting"), so "stop nginx" stays a request.
pub(super) fn negation(text: &str) -> Option<String> {
    const SINGLE: &[&str] = &[
        "don't",
        "dont",
        "never",
        "not",
        "doesn't",
        "shouldn't",
        "mustn't",
        "needn't",
        "won't",
    ];
    let normalised = text.to_lowercase().replace(['’', '‘'], "'");
    let words: Vec<&str> = normalised
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '.' | '!' | '?' | ';' | ':'))
        .filter(|w| !w.is_empty())
        .collect();
    for (i, w) in words.iter().enumerate() {
        let next = words.get(i + 1).copied().unwrap_or_default();
        let found = match *w {
            "do" | "does" | "should" | "must" | "will" if next == "not" => Some(format!("{w} not")),
            "no" if next == "need" => Some("no need".to_string()),
            "stop" if next.len() > 4 && next.ends_with("ing") => Some(format!("stop {next}")),
            w if SINGLE.contains(&w) => Some(w.to_string()),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}
