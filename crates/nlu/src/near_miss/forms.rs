//! The forms of a word the judgement counts as the same word: its inflections
//! ("restarted", "restarting", "renews" for the examples' "restart" and
//! "renew") and a slip of one letter, including two swapped ("restrat",
//! "revkoe"). Learned words are compared through these, so an example's verb
//! serves every way of writing it.

use std::collections::HashSet;

/// The message's words, lower-case, apostrophes kept inside ("there's").
pub(super) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’' || c == '-'))
        .map(|w| w.replace('’', "'"))
        .map(|w| w.trim_matches(['\'', '-']).to_lowercase())
        .filter(|w| !w.is_empty())
}

/// The word and the stems its English inflection may have come from:
/// "restarted" → restarted, restart, restarte; "stopped" → stop;
/// "bounces" → bounce, bounc. Only the longer candidates are kept, so short
/// words are not cut to nothing.
pub(super) fn stems(word: &str) -> Vec<String> {
    let mut out = vec![word.to_string()];
    // "design's quota": the owner's name.
    if let Some(owner) = word.strip_suffix("'s").filter(|o| o.chars().count() >= 2) {
        out.push(owner.to_string());
    }
    // "retried", "copies" → "retry", "copy".
    for suffix in ["ied", "ies"] {
        if let Some(stem) = word.strip_suffix(suffix).filter(|s| s.chars().count() >= 2) {
            out.push(format!("{stem}y"));
        }
    }
    for suffix in ["ing", "ed", "es", "s", "d"] {
        let Some(stem) = word.strip_suffix(suffix) else {
            continue;
        };
        if stem.chars().count() < 3 {
            continue;
        }
        out.push(stem.to_string());
        // "stopped" → "stop", "running" → "run": a doubled last letter.
        let chars: Vec<char> = stem.chars().collect();
        if chars.len() >= 4 && chars[chars.len() - 1] == chars[chars.len() - 2] {
            out.push(chars[..chars.len() - 1].iter().collect());
        }
        // "renewing" → "renew" is above; "revoking" → "revoke".
        if suffix == "ing" {
            out.push(format!("{stem}e"));
        }
    }
    out
}

/// Whether `word` is one of `known`, itself or an inflection of one.
pub(super) fn has_form(known: &HashSet<String>, word: &str) -> bool {
    stems(word).iter().any(|form| known.contains(form))
}

/// Whether `word` is one of `known`: itself, an inflection, or a slip of one
/// letter (words of four letters or more: "restrat", "drian").
pub(super) fn knows(known: &HashSet<String>, word: &str) -> bool {
    has_form(known, word)
        || (word.chars().count() >= 4
            && known.iter().any(|k| {
                k.chars().count() >= 4
                    && k.len().abs_diff(word.len()) <= 1
                    && strsim::damerau_levenshtein(k, word) <= 1
            }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(words: &[&str]) -> HashSet<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn inflections_and_slips_are_the_same_word() {
        let known = set(&[
            "restart", "renew", "revoke", "stop", "drain", "back", "retry",
        ]);
        for word in [
            "restart",
            "restarted",
            "restarting",
            "restarts",
            "renewed",
            "revoked",
            "revoking",
            "stopped",
            "restrat",
            "drian",
            "revkoe",
            "backed",
            "retried",
        ] {
            assert!(knows(&known, word), "{word}");
        }
        for word in ["upgrade", "delete", "rest", "start", "sure", "bounce", "it"] {
            assert!(!knows(&known, word), "{word}");
        }
    }

    #[test]
    fn words_keep_inner_apostrophes_and_dashes() {
        let found: Vec<String> =
            words("There’s a problem with web-01, please restart it!").collect();
        assert_eq!(
            found,
            ["there's", "a", "problem", "with", "web-01", "please", "restart", "it"]
        );
    }
}
