//! `opsbot review` as a state machine: the groups of undecided messages one
//! after another, and what each answer asks to be done. The terminal front
//! (`cli/review.rs`) only shows it and asks; tests drive it directly.

use opsbot_runtime::InboxEntry;
use opsbot_spec::Project;

use super::append::Accepted;

/// A reviewer's answer about the group shown.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// Label every message of the group (`out_of_scope` for nothing the bot
    /// does); `examples`: the annotated text of each, `None` as proposed.
    Label {
        label: String,
        examples: Option<Vec<String>>,
    },
    Skip,
    /// Forget these messages, unlabelled.
    Delete,
    Quit,
}

/// What an answer asks to be done.
#[derive(Debug, Clone, PartialEq)]
pub enum Work {
    /// Write these examples, then record the decision for these entries.
    Write {
        ids: Vec<String>,
        accepted: Vec<Accepted>,
    },
    Remove {
        ids: Vec<String>,
    },
    Nothing,
}

/// How many messages got each kind of answer.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Tally {
    pub labelled: usize,
    pub skipped: usize,
    pub deleted: usize,
}

pub struct Session {
    entries: Vec<InboxEntry>,
    groups: Vec<Vec<usize>>,
    at: usize,
    pub tally: Tally,
}

impl Session {
    /// `groups`: indices into `entries`, as [`super::group::group`] makes them.
    pub fn new(entries: Vec<InboxEntry>, groups: Vec<Vec<usize>>) -> Session {
        Session {
            entries,
            groups,
            at: 0,
            tally: Tally::default(),
        }
    }

    /// (position, number of groups) of the group shown, 1-based.
    pub fn progress(&self) -> (usize, usize) {
        (self.at + 1, self.groups.len())
    }

    /// The group shown now; `None` when every group had its answer.
    pub fn current(&self) -> Option<Vec<&InboxEntry>> {
        let group = self.groups.get(self.at)?;
        Some(group.iter().map(|&i| &self.entries[i]).collect())
    }

    /// The label most of the group's messages point to (the users' own
    /// choices first, then what they asked next, then the model's reading).
    pub fn suggestion(&self) -> Option<String> {
        let group = self.current()?;
        let mut counts: Vec<(String, usize)> = Vec::new();
        for entry in &group {
            if let Some(label) = entry.suggestion() {
                match counts.iter_mut().find(|(l, _)| l == label) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((label.to_string(), 1)),
                }
            }
        }
        counts
            .into_iter()
            .max_by_key(|(_, n)| *n)
            .map(|(label, _)| label)
    }

    /// The intents the group's messages were likeliest read as, most
    /// likely first (out of scope left out): where to start a picker.
    pub fn likeliest_intents(&self) -> Vec<String> {
        let mut scores: Vec<(String, f32)> = Vec::new();
        for entry in self.current().unwrap_or_default() {
            for guess in entry.predicted.iter().chain(&entry.alternatives) {
                if guess.name == opsbot_spec::OUT_OF_SCOPE {
                    continue;
                }
                match scores.iter_mut().find(|(n, _)| *n == guess.name) {
                    Some((_, s)) => *s += guess.confidence,
                    None => scores.push((guess.name.clone(), guess.confidence)),
                }
            }
        }
        scores.sort_by(|a, b| b.1.total_cmp(&a.1));
        scores.into_iter().map(|(name, _)| name).collect()
    }

    /// The examples the group's messages would become under `label`, values
    /// annotated where its dialog has slots for them.
    pub fn proposals(&self, project: &Project, label: &str) -> Vec<String> {
        self.current()
            .unwrap_or_default()
            .into_iter()
            .map(|e| Accepted::from_entry(project, e, label).example)
            .collect()
    }

    /// Takes the answer about the group shown and moves on.
    pub fn answer(&mut self, project: &Project, answer: Answer) -> Work {
        let Some(group) = self.current() else {
            return Work::Nothing;
        };
        let ids: Vec<String> = group.iter().map(|e| e.id.clone()).collect();
        let work = match answer {
            Answer::Label { label, examples } => {
                let mut accepted: Vec<Accepted> = group
                    .iter()
                    .map(|e| Accepted::from_entry(project, e, &label))
                    .collect();
                if let Some(examples) = examples {
                    for (one, example) in accepted.iter_mut().zip(examples) {
                        one.example = example;
                    }
                }
                self.tally.labelled += ids.len();
                Work::Write { ids, accepted }
            }
            Answer::Skip => {
                self.tally.skipped += ids.len();
                Work::Nothing
            }
            Answer::Delete => {
                self.tally.deleted += ids.len();
                Work::Remove { ids }
            }
            Answer::Quit => {
                self.at = self.groups.len();
                return Work::Nothing;
            }
        };
        self.at += 1;
        work
    }
}
