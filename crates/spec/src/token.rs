//! Whether a value found in a message is a whole token of it.
//!
//! A finder (a listed value, a pattern, a built-in type, a typo match, the
//! tagger) may match part of what was written: `b-01` in `d\u{200B}b-01`,
//! `000.00` in `1,000.00`, `web-01` in `web-01\0` or `web-01&touch`. Taking
//! that part would confirm something other than what the user wrote, so a
//! value must be all of its token (the run of text between white space),
//! give or take quotes, brackets and `#`/`@` before it and sentence
//! punctuation after it. Checked here once, for every finder.

/// Characters that have no place next to a value in prose but do in shell
/// commands; a value touching one is not extracted, so "web-01; touch /tmp/x" is
/// judged as a whole (and rejected) instead of quietly becoming "web-01".
const SHELL_METACHARACTERS: &[char] = &[';', '|', '&', '$', '`', '<', '>', '\\', '\n', '\r'];

/// What may stand between white space and the start of a value.
const OPENING: &[char] = &[
    '(', '[', '{', '"', '\'', '“', '‘', '„', '«', '‹', '¿', '¡', '*', '#', '@',
];

/// What may stand between the end of a value and white space.
const CLOSING: &[char] = &[
    ')', ']', '}', '"', '\'', '”', '’', '»', '›', '.', ',', ':', '!', '?', '…', '*',
];

/// How a span of a message stands to the token it is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// All of its token: a value may be taken from it.
    Whole,
    /// Letters of a longer word ("test" in "latest"): no value, and nothing
    /// to say about it.
    Inside,
    /// Part of a longer token (byte range of the token, surrounding
    /// punctuation included): not a value, and the token is what to name
    /// back as not understood.
    Part { start: usize, end: usize },
}

/// How the span `start..end` of `text` fits its token.
pub fn fit(text: &str, start: usize, end: usize) -> Fit {
    let inside = &text[start..end];
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let joined = |outer: Option<char>, edge: Option<char>| {
        outer.is_some_and(is_word) && edge.is_some_and(is_word)
    };
    // A boundary is only required where the value itself starts or ends with a
    // word character ("web-01" must not match inside "xweb-01").
    if joined(text[..start].chars().next_back(), inside.chars().next())
        || joined(text[end..].chars().next(), inside.chars().next_back())
    {
        return Fit::Inside;
    }
    let before = text[..start]
        .char_indices()
        .rev()
        .find(|&(_, c)| !OPENING.contains(&c));
    // A possessive is the value's own ending ("acme's trial").
    let owner = ["'s", "’s"].iter().find_map(|s| {
        let rest = text[end..].strip_prefix(s)?;
        (!rest.chars().next().is_some_and(is_word)).then(|| end + s.len())
    });
    let after = text[owner.unwrap_or(end)..]
        .char_indices()
        .find(|&(_, c)| !CLOSING.contains(&c));
    let clean_before = before.is_none_or(|(_, c)| c.is_whitespace());
    let clean_after = after.is_none_or(|(_, c)| c.is_whitespace());
    if clean_before && clean_after && !inside.chars().any(hidden) {
        return Fit::Whole;
    }
    let token_start = text[..start]
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8());
    let token_end = text[end..]
        .char_indices()
        .find(|&(_, c)| c.is_whitespace())
        .map_or(text.len(), |(i, _)| end + i);
    Fit::Part {
        start: token_start,
        end: token_end,
    }
}

/// Characters that change what a token is without being seen: control
/// characters and the invisible formatting ones (zero-width space and
/// joiners, direction marks and overrides, the byte order mark, soft hyphen,
/// variation selectors, tags).
pub fn hidden(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFB}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}')
}

/// Whether a span may be a value: a whole token ([`fit`]), and not touching
/// a shell metacharacter.
pub fn clean_boundaries(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    if before
        .into_iter()
        .chain(after)
        .any(|c| SHELL_METACHARACTERS.contains(&c))
        || text[..start].ends_with("$(")
    {
        return false;
    }
    fit(text, start, end) == Fit::Whole
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fit_of(text: &str, value: &str) -> Fit {
        let start = text.find(value).unwrap();
        fit(text, start, start + value.len())
    }

    fn part(text: &str, token: &str) -> Fit {
        let start = text.find(token).unwrap();
        Fit::Part {
            start,
            end: start + token.len(),
        }
    }

    #[test]
    fn a_value_is_all_of_its_token_give_or_take_punctuation() {
        for (text, value) in [
            ("restart web-01", "web-01"),
            ("restart web-01 now", "web-01"),
            ("restart (web-01).", "web-01"),
            ("restart “web-01”, please", "web-01"),
            ("rerun build #412", "412"),
            ("ask @kim?", "kim"),
            ("in 10 minutes!", "in 10 minutes"),
            ("web-01\u{00A0}now", "web-01"),
            ("extend acme's trial", "acme"),
            ("extend acme’s trial.", "acme"),
        ] {
            assert_eq!(fit_of(text, value), Fit::Whole, "{text:?}");
        }
    }

    #[test]
    fn part_of_a_token_is_no_value_and_the_token_is_named() {
        let zwsp = "restart d\u{200B}b-01 now";
        assert_eq!(fit_of(zwsp, "b-01"), part(zwsp, "d\u{200B}b-01"));
        let thousands = "deploy shop 1,000.00";
        assert_eq!(fit_of(thousands, "000.00"), part(thousands, "1,000.00"));
        let nul = "restart web-01\0 now";
        assert_eq!(fit_of(nul, "web-01"), part(nul, "web-01\0"));
        let amp = "restart web-01&touch /tmp/x";
        assert_eq!(fit_of(amp, "web-01"), part(amp, "web-01&touch"));
        assert_eq!(fit_of("deploy the latest", "test"), Fit::Inside);
        assert_eq!(fit_of("restart xweb-01", "web-01"), Fit::Inside);
        let plural = "restart webs'ss";
        assert_eq!(fit_of(plural, "webs"), part(plural, "webs'ss"));
        let joined = "restart nginx,apache";
        assert_eq!(fit_of(joined, "nginx"), part(joined, "nginx,apache"));
        let mark = "restart web-01\u{0301}";
        assert_eq!(fit_of(mark, "web-01"), part(mark, "web-01\u{0301}"));
        assert!(!clean_boundaries(amp, 8, 14));
        assert!(!clean_boundaries("restart $(web-01)", 10, 16));
    }
}
