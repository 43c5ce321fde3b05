//! Near-duplicate messages grouped, so one decision labels many: by the
//! sentence encoder's cosine similarity, or by shared words when the bot
//! trains without the encoder.

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
}
