//! Near-duplicate messages grouped, so one decision labels many: messages
//! made from one template with different values ("restart apache on
//! web-01", "restart nginx on web-02"), and rewordings by the sentence
//! encoder's cosine similarity, or by shared words when the bot trains
//! without the encoder.

use std::collections::BTreeMap;

/// Sentence vectors at least this similar are one group.
pub const SIMILAR: f32 = 0.85;

/// Groups items greedily: each joins the first group whose first member is
/// `similar` to it, else starts one. Groups keep the items' order.
pub fn group(count: usize, similar: impl Fn(usize, usize) -> bool) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for item in 0..count {
        match groups.iter_mut().find(|g| similar(g[0], item)) {
            Some(g) => g.push(item),
            None => groups.push(vec![item]),
        }
    }
    groups
}

/// The message with its values blanked: each value found replaced by its
/// entity's name in braces, and each remaining token that holds a digit or
/// joins words with `-`, `_`, `.`, `:`, `/` or `@` (a host, a version, an
/// address) by `{value}`; lower case, single spaces. Two messages with one
/// template differ only in their values.
pub fn template(text: &str, values: &[(usize, usize, &str)]) -> String {
    let mut spans: Vec<&(usize, usize, &str)> = values
        .iter()
        .filter(|(start, end, _)| {
            start < end
                && *end <= text.len()
                && text.is_char_boundary(*start)
                && text.is_char_boundary(*end)
        })
        .collect();
    spans.sort_by_key(|(start, _, _)| *start);
    let mut blanked = String::new();
    let mut at = 0;
    for (start, end, entity) in spans {
        if *start < at {
            continue;
        }
        blanked.push_str(&text[at..*start]);
        blanked.push_str(&format!(" {{{entity}}} "));
        at = *end;
    }
    blanked.push_str(&text[at..]);
    blanked
        .split_whitespace()
        .map(|token| {
            let inner = token.trim_matches(|c: char| !c.is_alphanumeric() && c != '{' && c != '}');
            let joined = inner
                .chars()
                .any(|c| matches!(c, '-' | '_' | '.' | ':' | '/' | '@'));
            if !inner.starts_with('{') && (inner.chars().any(|c| c.is_ascii_digit()) || joined) {
                "{value}".to_string()
            } else {
                token.to_lowercase()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    dot / (norm(a) * norm(b))
}

/// Cosine of the two texts' word counts (lower case, letters and digits).
pub fn word_similarity(a: &str, b: &str) -> f32 {
    let bag = |text: &str| {
        let mut counts: BTreeMap<String, f32> = BTreeMap::new();
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            *counts.entry(word.to_lowercase()).or_default() += 1.0;
        }
        counts
    };
    let (a, b) = (bag(a), bag(b));
    let dot: f32 = a.iter().filter_map(|(w, x)| b.get(w).map(|y| x * y)).sum();
    let norm = |m: &BTreeMap<String, f32>| m.values().map(|x| x * x).sum::<f32>().sqrt().max(1e-9);
    dot / (norm(&a) * norm(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_duplicates_share_a_group_and_order_is_kept() {
        let texts = [
            "restart apache please",
            "purge the cdn cache",
            "please restart apache",
            "restart the apache please",
            "purge cdn cache now",
        ];
        let groups = group(texts.len(), |a, b| {
            word_similarity(texts[a], texts[b]) >= 0.7
        });
        assert_eq!(groups, vec![vec![0, 2, 3], vec![1, 4]]);
        assert!((cosine(&[1.0, 0.0], &[1.0, 0.0]) - 1.0).abs() < 1e-6);
        assert!(cosine(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-6);
    }

    #[test]
    fn a_template_blanks_the_values_found_and_value_like_tokens() {
        let text = "Restart apache on web-01 please";
        assert_eq!(
            template(text, &[(8, 14, "service")]),
            "restart {service} on {value} please"
        );
        assert_eq!(
            template("restart nginx on 10.0.0.4 please", &[(8, 13, "service")]),
            "restart {service} on {value} please"
        );
        assert_eq!(
            template("deploy build 4812 to staging", &[]),
            "deploy build {value} to staging"
        );
        // Words stay words: a different request is a different template.
        assert_eq!(
            template("stop apache", &[(5, 11, "service")]),
            "stop {service}"
        );
        // A span that does not fit the text is ignored, not a panic.
        assert_eq!(template("stop", &[(2, 40, "service")]), "stop");
    }
}
