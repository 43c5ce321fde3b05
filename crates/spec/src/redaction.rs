//! Secrets out of the audit trail and the review inbox. The author's `redact`
//! patterns are applied together with built-in ones every bot needs
//! (`password=…`, `pass:`, `pwd=`, `token`, `api key`, `Authorization: Bearer
//! …`, "my password is …"), and all of them match a folded copy of the text,
//! so a zero-width character or a Cyrillic look-alike inside "password" does
//! not hide the secret that follows. What a match covers in the folded copy
//! is replaced in the original text.

use std::sync::OnceLock;

use regex::Regex;

/// What a redacted part becomes.
pub const REDACTED: &str = "[redacted]";

fn built_in() -> &'static [Regex] {
    static PATTERNS: OnceLock<Vec<Regex>> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        [
            // key=value and key: value for the usual names of secrets.
            r"(?i)\b(pass(word|wd|phrase)?|pwd|secret|token|api[ _-]?key|access[ _-]?key|private[ _-]?key|client[ _-]?secret|auth)\s*[=:]\s*\S+",
            // Authorization headers and bare bearer tokens.
            r"(?i)\bauthorization\s*:\s*\S+(\s+\S+)?",
            r"(?i)\bbearer\s+\S+",
            // "my password is hunter2", "the token is abc", "secret: x" said in prose.
            r"(?i)\b(password|passwd|passphrase|pwd|secret|token|api[ _-]?key|pin)\s+(is|was|=)\s+\S+",
        ]
        .iter()
        .map(|p| Regex::new(p).expect("built-in redaction patterns compile"))
        .collect()
    })
}

/// A letter that only looks like a Latin one, as that Latin letter.
fn fold_look_alike(c: char) -> char {
    match c {
        'а' => 'a',
        'А' => 'A',
        'е' | 'ё' => 'e',
        'Е' => 'E',
        'о' | 'ο' => 'o',
        'О' | 'Ο' => 'O',
        'р' | 'ρ' => 'p',
        'Р' | 'Ρ' => 'P',
        'с' => 'c',
        'С' => 'C',
        'ѕ' => 's',
        'Ѕ' => 'S',
        'і' | 'ι' => 'i',
        'І' | 'Ι' => 'I',
        'ј' => 'j',
        'у' => 'y',
        'х' | 'χ' => 'x',
        'Х' | 'Χ' => 'X',
        'ԁ' => 'd',
        'ѡ' | 'ω' => 'w',
        'к' | 'κ' => 'k',
        'К' | 'Κ' => 'K',
        'Т' | 'Τ' => 'T',
        'т' => 't',
        'В' | 'Β' => 'B',
        'М' | 'Μ' => 'M',
        'Н' | 'Η' => 'H',
        'п' => 'n',
        'ν' => 'v',
        'α' => 'a',
        'ε' => 'e',
        c => c,
    }
}

/// Characters that show nothing and only split a word (the token rule's
/// hidden characters, line breaks and other controls kept: they separate).
fn invisible(c: char) -> bool {
    crate::token::hidden(c) && !c.is_control()
}

/// The folded text and, for each of its bytes, the byte of the original it
/// came from (plus one entry for the end).
fn fold(text: &str) -> (String, Vec<usize>) {
    let mut folded = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len() + 1);
    for (at, c) in text.char_indices() {
        if invisible(c) {
            continue;
        }
        let folded_char = fold_look_alike(c);
        for _ in 0..folded_char.len_utf8() {
            origin.push(at);
        }
        folded.push(folded_char);
    }
    origin.push(text.len());
    (folded, origin)
}

/// `text` with every match of the built-in and the author's `patterns`
/// replaced by `[redacted]`.
pub fn redact(text: &str, patterns: &[Regex]) -> String {
    let mut out = text.to_string();
    for pattern in built_in().iter().chain(patterns) {
        out = redact_one(&out, pattern);
    }
    out
}

fn redact_one(text: &str, pattern: &Regex) -> String {
    let (folded, origin) = fold(text);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for found in pattern.find_iter(&folded) {
        // Matches end on character boundaries of the folded text, whose
        // origins are character boundaries of the original.
        let (start, end) = (origin[found.start()], origin[found.end()]);
        if start < copied {
            continue;
        }
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_the_attack_run_found_are_redacted() {
        for (said, kept) in [
            ("deploy with pass=hunter2 now", "deploy with [redacted] now"),
            ("pwd=hunter2", "[redacted]"),
            ("my secret is swordfish", "my [redacted]"),
            ("my password is hunter2 ok", "my [redacted] ok"),
            (
                "curl -H 'Authorization: Bearer abc.def'",
                "curl -H '[redacted]",
            ),
            ("token: abc123", "[redacted]"),
            ("pass\u{200B}word=hunter2 x", "[redacted] x"),
            ("раssword=hunter2 x", "[redacted] x"),
            ("api key = k-123", "[redacted]"),
        ] {
            assert_eq!(redact(said, &[]), kept, "{said}");
        }
    }

    #[test]
    fn ordinary_requests_are_kept_whole() {
        for said in [
            "restart apache on web-01",
            "rotate the password of the backup user",
            "deploy shop 2.1 to production",
            "who has access tokens?",
        ] {
            assert_eq!(redact(said, &[]), said);
        }
    }

    #[test]
    fn author_patterns_apply_to_the_folded_text_too() {
        let pattern = Regex::new(r"(?i)ssn\s+\d+").unwrap();
        assert_eq!(redact("ѕsn 123 ok", &[pattern]), "[redacted] ok");
    }
}
