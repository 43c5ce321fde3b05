//! The review inbox: messages the bot did not understand, understood only
//! after asking, or that the user disowned, kept (redacted) for a reviewer
//! to label.
//!
//! It lives in a file of its own beside the store, not in sled: sled admits
//! one process, and a reviewer works while the bot runs. The file is a log of
//! JSON lines — an entry (a later one with the same id replaces it), a
//! reviewer's decision, or a removal — appended and synced under a lock file
//! shared by every process; pruning rewrites it under the same lock. A torn
//! last line (a crash mid-write) is skipped on reading.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use opsbot_dialog::{Lesson, LessonKind};
use opsbot_nlu::IntentGuess;
use opsbot_spec::Settings;
use serde::{Deserialize, Serialize};

use crate::RuntimeError;

/// How many of the model's likeliest intents an entry keeps.
const ALTERNATIVES: usize = 5;

/// A value the extractor found in the (redacted) text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FoundValue {
    pub entity: String,
    /// Byte range in the entry's text.
    pub start: usize,
    pub end: usize,
    /// The canonical value the words stand for.
    pub value: String,
}

/// What a reviewer decided about an entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// An intent, or `out_of_scope`.
    pub label: String,
    pub at: DateTime<Utc>,
    /// Where the example was written (`intents/x.yaml:12`).
    pub written_to: String,
}

/// One message worth a reviewer's look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InboxEntry {
    pub id: String,
    pub kind: LessonKind,
    /// The message with the project's redaction patterns applied.
    pub text: String,
    /// What the model that read it took it as (`None`: not understood) —
    /// kept, so `evaluate --reviewed` can compare with a later model.
    pub predicted: Option<IntentGuess>,
    /// The model's likeliest intents, most likely first.
    pub alternatives: Vec<IntentGuess>,
    pub entities: Vec<FoundValue>,
    /// What the user said it meant (an intent, or `out_of_scope`).
    pub chosen: Option<String>,
    /// What the user asked for next instead.
    pub suggested: Option<String>,
    pub room: String,
    pub at: DateTime<Utc>,
    /// When the model that read it was trained.
    pub model: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<Decision>,
}

impl InboxEntry {
    /// The entry for a lesson, redacted; `model`: when the reading model was trained.
    pub fn from_lesson(
        settings: &Settings,
        room: &str,
        model: &str,
        lesson: &Lesson,
    ) -> InboxEntry {
        let text = settings.redact(&lesson.message.text);
        let entities = lesson
            .message
            .entities
            .iter()
            .filter_map(|m| {
                // A value inside a redacted part is gone with it.
                let start = text.find(&m.surface)?;
                Some(FoundValue {
                    entity: m.entity.clone(),
                    start,
                    end: start + m.surface.len(),
                    value: m.value.clone(),
                })
            })
            .collect();
        let predicted = lesson.taken_as.as_ref().map(|name| IntentGuess {
            name: name.clone(),
            confidence: lesson
                .message
                .ranking
                .iter()
                .find(|g| &g.name == name)
                .map_or(0.0, |g| g.confidence),
        });
        InboxEntry {
            id: lesson.id.clone(),
            kind: lesson.kind,
            text,
            predicted,
            alternatives: lesson
                .message
                .ranking
                .iter()
                .take(ALTERNATIVES)
                .cloned()
                .collect(),
            entities,
            chosen: lesson.chosen.clone(),
            suggested: lesson.suggested.clone(),
            room: room.to_string(),
            at: lesson.at,
            model: model.to_string(),
            decision: None,
        }
    }

    /// The label a reviewer would most likely give: the user's own choice,
    /// else what they asked for next, else the model's reading, else — for a
    /// message not understood — the model's likeliest class (an intent
    /// below the threshold, or out of scope).
    pub fn suggestion(&self) -> Option<&str> {
        self.chosen
            .as_deref()
            .or(self.suggested.as_deref())
            .or(self.predicted.as_ref().map(|p| p.name.as_str()))
            .or(self.alternatives.first().map(|g| g.name.as_str()))
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line {
    Entry(Box<InboxEntry>),
    Decision { id: String, decision: Decision },
}

/// The inbox file and its lock, in one folder.
#[derive(Debug, Clone)]
pub struct Inbox {
    dir: PathBuf,
}

impl Inbox {
    /// The inbox kept in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Inbox {
        Inbox { dir: dir.into() }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("inbox.jsonl")
    }

    fn io(&self, path: &Path) -> impl Fn(std::io::Error) -> RuntimeError + '_ {
        let path = path.to_path_buf();
        move |source| RuntimeError::Io {
            path: path.clone(),
            source,
        }
    }

    /// Holds the inbox's lock (shared by every process) while `work` runs.
    fn locked<T>(&self, work: impl FnOnce() -> Result<T, RuntimeError>) -> Result<T, RuntimeError> {
        // What people wrote, before redaction was perfect: owner-only.
        crate::private::private_dir(&self.dir)?;
        let lock_path = self.dir.join("inbox.lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_path)
            .map_err(self.io(&lock_path))?;
        lock.lock().map_err(self.io(&lock_path))?;
        let result = work();
        let _ = lock.unlock();
        result
    }

    fn append(&self, lines: &[Line]) -> Result<(), RuntimeError> {
        if lines.is_empty() {
            return Ok(());
        }
        let path = self.path();
        self.locked(|| {
            crate::private::private_file(&path)?;
            let mut file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .mode(0o600)
                .open(&path)
                .map_err(self.io(&path))?;
            let mut text = String::new();
            if !ends_with_newline(&mut file).map_err(self.io(&path))? {
                // A line torn by a crash stays alone, unreadable, not glued to this one.
                text.push('\n');
            }
            for line in lines {
                text.push_str(&serde_json::to_string(line).expect("inbox lines serialise"));
                text.push('\n');
            }
            file.write_all(text.as_bytes()).map_err(self.io(&path))?;
            file.sync_data().map_err(self.io(&path))
        })
    }

    /// Records entries (replacing those with the same id), durably.
    pub fn record(&self, entries: Vec<InboxEntry>) -> Result<(), RuntimeError> {
        self.append(
            &entries
                .into_iter()
                .map(|e| Line::Entry(Box::new(e)))
                .collect::<Vec<_>>(),
        )
    }

    /// Records a reviewer's decision about an entry.
    pub fn decide(&self, id: &str, decision: Decision) -> Result<(), RuntimeError> {
        self.append(&[Line::Decision {
            id: id.to_string(),
            decision,
        }])
    }

    /// Removes entries for good; returns how many there were.
    pub fn remove(&self, ids: &[String]) -> Result<usize, RuntimeError> {
        self.compact(|e| !ids.contains(&e.id))
    }

    /// Every entry, oldest first, decisions applied.
    pub fn entries(&self) -> Result<Vec<InboxEntry>, RuntimeError> {
        let path = self.path();
        self.locked(|| self.read(&path))
    }

    fn read(&self, path: &Path) -> Result<Vec<InboxEntry>, RuntimeError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(self.io(path)(e)),
        };
        let mut by_id: BTreeMap<String, InboxEntry> = BTreeMap::new();
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(self.io(path))?;
            match serde_json::from_str::<Line>(&line) {
                Ok(Line::Entry(mut entry)) => {
                    // A lesson about a reviewed message keeps the decision.
                    if let Some(old) = by_id.get(&entry.id) {
                        entry.decision = old.decision.clone();
                    }
                    by_id.insert(entry.id.clone(), *entry);
                }
                Ok(Line::Decision { id, decision }) => {
                    if let Some(entry) = by_id.get_mut(&id) {
                        entry.decision = Some(decision);
                    }
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), line = number + 1, error = %e, "skipped an unreadable inbox line")
                }
            }
        }
        let mut entries: Vec<InboxEntry> = by_id.into_values().collect();
        entries.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.id.cmp(&b.id)));
        Ok(entries)
    }

    /// Rewrites the file with the entries `keep` keeps; returns how many went.
    fn compact(&self, keep: impl Fn(&InboxEntry) -> bool) -> Result<usize, RuntimeError> {
        let path = self.path();
        self.locked(|| {
            let entries = self.read(&path)?;
            let before = entries.len();
            let kept: Vec<InboxEntry> = entries.into_iter().filter(|e| keep(e)).collect();
            let removed = before - kept.len();
            if removed == 0 {
                return Ok(0);
            }
            let fresh = self.dir.join("inbox.jsonl.new");
            let mut text = String::new();
            for entry in kept {
                text.push_str(
                    &serde_json::to_string(&Line::Entry(Box::new(entry))).expect("serialises"),
                );
                text.push('\n');
            }
            let mut file = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&fresh)
                .map_err(self.io(&fresh))?;
            file.write_all(text.as_bytes()).map_err(self.io(&fresh))?;
            file.sync_all().map_err(self.io(&fresh))?;
            std::fs::rename(&fresh, &path).map_err(self.io(&path))?;
            Ok(removed)
        })
    }

    /// Removes entries of messages sent before `before`; returns how many.
    pub fn purge_before(&self, before: DateTime<Utc>) -> Result<usize, RuntimeError> {
        self.compact(|e| e.at >= before)
    }

    /// Applies the retention limits: entries older than `keep`, then the
    /// oldest beyond `max_entries`, go.
    pub fn prune(
        &self,
        keep: std::time::Duration,
        max_entries: usize,
        now: DateTime<Utc>,
    ) -> Result<usize, RuntimeError> {
        let cut = chrono::Duration::from_std(keep)
            .ok()
            .and_then(|keep| now.checked_sub_signed(keep))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let entries = self.entries()?;
        let excess = entries.len().saturating_sub(max_entries);
        let oldest_kept = entries.get(excess).map(|e| (e.at, e.id.clone()));
        self.compact(|e| {
            e.at >= cut
                && oldest_kept
                    .as_ref()
                    .is_none_or(|(at, id)| (e.at, &e.id) >= (*at, id))
        })
    }
}

/// Whether the file is empty or its last byte ends a line.
fn ends_with_newline(file: &mut File) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    if file.metadata()?.len() == 0 {
        return Ok(true);
    }
    file.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

#[cfg(test)]
mod tests;
