//! The tagger's view of a text: its words as byte spans, each word's sparse
//! feature hashes, and the BIO labels of an annotated text's words.

use std::sync::LazyLock;

use regex::Regex;

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{N}@][\p{L}\p{N}._:/@+\-]*[\p{L}\p{N}]|[\p{L}\p{N}]|'s\b").unwrap()
});

/// The words of a text as byte spans: letters and digits with the inner
/// punctuation of host names, versions, addresses and URLs ("web-12.prod",
/// "v2.4.1-rc1", "@ada:example.org"); sentence punctuation is left out.
pub fn words(text: &str) -> Vec<(usize, usize)> {
    WORD.find_iter(text).map(|m| (m.start(), m.end())).collect()
}

/// "web-01" → "x-d", "Paris" → "Xx", "v2.4.1" → "xd.d.d".
pub(super) fn shape(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let k = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_ascii_digit() {
            'd'
        } else {
            c
        };
        if !out.ends_with(k) {
            out.push(k);
        }
    }
    out
}

fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

/// Sparse feature hashes of every word of a text.
pub(super) fn word_features(text: &str, spans: &[(usize, usize)]) -> Vec<Vec<u64>> {
    let lower: Vec<String> = spans
        .iter()
        .map(|&(s, e)| text[s..e].to_lowercase())
        .collect();
    let shapes: Vec<String> = spans.iter().map(|&(s, e)| shape(&text[s..e])).collect();
    let at = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else {
            lower.get(i as usize).map_or("</s>", String::as_str)
        }
    };
    let shape_at = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else {
            shapes.get(i as usize).map_or("</s>", String::as_str)
        }
    };
    (0..spans.len())
        .map(|i| {
            let w = &lower[i];
            let chars: Vec<char> = w.chars().collect();
            let prefix = |n: usize| chars.iter().take(n).collect::<String>();
            let suffix = |n: usize| {
                chars[chars.len().saturating_sub(n)..]
                    .iter()
                    .collect::<String>()
            };
            let i = i as isize;
            [
                "bias".to_string(),
                format!("w={w}"),
                format!("shape={}", shapes[i as usize]),
                format!("p2={}", prefix(2)),
                format!("p3={}", prefix(3)),
                format!("s2={}", suffix(2)),
                format!("s3={}", suffix(3)),
                format!("w-1={}", at(i - 1)),
                format!("w+1={}", at(i + 1)),
                format!("w-2={}", at(i - 2)),
                format!("w+2={}", at(i + 2)),
                format!("w-1|w={}|{w}", at(i - 1)),
                format!("w|w+1={w}|{}", at(i + 1)),
                format!("w-2|w-1={}|{}", at(i - 2), at(i - 1)),
                format!("shape-1={}", shape_at(i - 1)),
                format!("shape+1={}", shape_at(i + 1)),
            ]
            .iter()
            .map(|f| fnv(f))
            .collect()
        })
        .collect()
}

/// BIO labels of the words of an annotated text: a word inside a span is `B-`
/// (first) or `I-` (later); words that straddle a span's edge are `O`.
pub(super) fn bio(spans: &[(usize, usize)], annotations: &[(usize, usize, String)]) -> Vec<String> {
    let mut labels = vec!["O".to_string(); spans.len()];
    for (start, end, entity) in annotations {
        let mut first = true;
        for (i, &(s, e)) in spans.iter().enumerate() {
            if s >= *start && e <= *end {
                labels[i] = format!("{}-{entity}", if first { "B" } else { "I" });
                first = false;
            }
        }
    }
    labels
}
