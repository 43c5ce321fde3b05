//! What a search for values found in a message, and how overlapping matches
//! are settled (the longer, then the more certain, then the earlier wins).

use super::*;

/// What [`Entity::find_in`] found in a message.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// Values, each a whole token, without overlaps.
    pub matches: Vec<EntityMatch>,
    /// Byte ranges of tokens a finder matched only part of (`b-01` of
    /// `d\u{200B}b-01`): none is a value; each is what to name back.
    pub partial: Vec<(usize, usize)>,
}

impl Found {
    /// Whether `start..end` may be a value ([`clean_boundaries`]); a part of
    /// a token is remembered as such.
    pub fn judge(&mut self, text: &str, start: usize, end: usize) -> bool {
        if let Fit::Part { start, end } = token::fit(text, start, end) {
            if !self.partial.contains(&(start, end)) {
                self.partial.push((start, end));
            }
            return false;
        }
        clean_boundaries(text, start, end)
    }
}

/// Resolves overlaps between matches of the same entity only, so a message
/// keeps every reading ("14 days": a duration, and 14 a number of days) for
/// the dialog to choose from by its slots.
pub fn remove_overlaps_per_entity(matches: Vec<EntityMatch>) -> Vec<EntityMatch> {
    let mut by_entity: BTreeMap<String, Vec<EntityMatch>> = BTreeMap::new();
    for m in matches {
        by_entity.entry(m.entity.clone()).or_default().push(m);
    }
    let mut kept: Vec<EntityMatch> = by_entity.into_values().flat_map(remove_overlaps).collect();
    kept.sort_by_key(|m| (m.start, std::cmp::Reverse(m.end)));
    kept
}

/// Resolves overlapping matches. Precedence (`MatchSource::rank`): exact matches
/// (listed values, patterns, built-in types), then typo matches, then the tagger;
/// within a rank the longest span wins, then the earliest, listed values before
/// patterns, then the surer.
pub fn remove_overlaps(mut matches: Vec<EntityMatch>) -> Vec<EntityMatch> {
    matches.sort_by(|a, b| {
        a.source
            .rank()
            .cmp(&b.source.rank())
            .then((b.end - b.start).cmp(&(a.end - a.start)))
            .then(a.start.cmp(&b.start))
            .then((a.source as u8).cmp(&(b.source as u8)))
            .then(b.confidence.total_cmp(&a.confidence))
    });
    let mut kept: Vec<EntityMatch> = Vec::new();
    for m in matches {
        if kept.iter().all(|k| m.end <= k.start || m.start >= k.end) {
            kept.push(m);
        }
    }
    kept.sort_by_key(|m| m.start);
    kept
}

/// "a, b or c".
pub fn join_or(items: &[&str]) -> String {
    match items {
        [] => "no values".to_string(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}
