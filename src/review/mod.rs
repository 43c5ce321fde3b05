//! Learning from use, the operator's side: the review inbox's messages
//! grouped ([`group`]), walked one group at a time ([`session`]), and the
//! labelled ones written into the project's intents YAML ([`append`]).

pub mod append;
pub mod group;
pub mod session;

use anyhow::{bail, Result};
use chrono::Utc;
use opsbot_nlu::SentenceEncoder;
use opsbot_runtime::{Decision, Inbox, InboxEntry};

use session::Work;

/// The entries whose id starts with `prefix` (at least 4 characters): exactly one.
pub fn find<'e>(entries: &'e [InboxEntry], prefix: &str) -> Result<&'e InboxEntry> {
    if prefix.len() < 4 {
        bail!("`{prefix}` is too short to name an entry; give at least 4 characters of its id (see `opsbot review list`)");
    }
    let found: Vec<&InboxEntry> = entries
        .iter()
        .filter(|e| e.id.starts_with(prefix))
        .collect();
    match found.as_slice() {
        [one] => Ok(one),
        [] => bail!("no entry in the review inbox has an id starting with `{prefix}`; see `opsbot review list`"),
        _ => bail!("{} entries have ids starting with `{prefix}`; give more characters", found.len()),
    }
}

/// Groups of near-duplicate entries (indices): one template with other
/// values, or rewordings — most similar by the encoder when there is one,
/// else by shared words.
pub fn groups(
    entries: &[InboxEntry],
    encoder: Option<&dyn SentenceEncoder>,
) -> Result<Vec<Vec<usize>>> {
    let texts: Vec<&str> = entries.iter().map(|e| e.text.as_str()).collect();
    let templates: Vec<String> = entries
        .iter()
        .map(|e| {
            let values: Vec<(usize, usize, &str)> = e
                .entities
                .iter()
                .map(|v| (v.start, v.end, v.entity.as_str()))
                .collect();
            group::template(&e.text, &values)
        })
        .collect();
    let vectors = match encoder {
        Some(encoder) if !texts.is_empty() => Some(encoder.encode(&texts)?),
        _ => None,
    };
    Ok(group::group(texts.len(), |a, b| {
        templates[a] == templates[b]
            || match &vectors {
                Some(vectors) => group::cosine(&vectors[a], &vectors[b]) >= group::SIMILAR,
                None => group::word_similarity(texts[a], texts[b]) >= group::SIMILAR,
            }
    }))
}

/// Does what an answer asks: writes the examples and records the decision
/// (so the entry leaves the undecided list), or removes the entries.
/// Returns one line per message saying what happened.
pub fn perform(root: &std::path::Path, inbox: &Inbox, work: Work) -> Result<Vec<String>> {
    match work {
        Work::Nothing => Ok(Vec::new()),
        Work::Remove { ids } => {
            let removed = inbox.remove(&ids)?;
            Ok(vec![format!(
                "deleted {removed} message(s) from the review inbox"
            )])
        }
        Work::Write { ids, accepted } => {
            let written = append::write_examples(root, &accepted)?;
            let mut lines = Vec::new();
            for ((id, one), place) in ids.iter().zip(&accepted).zip(written) {
                inbox.decide(
                    id,
                    Decision {
                        label: one.label.clone(),
                        at: Utc::now(),
                        written_to: place.clone(),
                    },
                )?;
                lines.push(format!(
                    "{}: “{}” as {} ({place})",
                    &id[..id.len().min(8)],
                    one.example,
                    one.label
                ));
            }
            Ok(lines)
        }
    }
}

#[cfg(test)]
mod tests;
