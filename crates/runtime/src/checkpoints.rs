//! The append-only copy of every audit record in a second file, synced after
//! the store's flush and before any reply, so records the store loses in a
//! crash are found (and restored) and removal of the newest records is
//! detected.

use std::io::{BufRead, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::audit::AuditRecord;
use crate::seal::io;
use crate::RuntimeError;

/// The append-only copy of every audit record, one JSON line each.
pub struct Checkpoints {
    path: PathBuf,
    /// Appends are serialised so lines never interleave.
    /// The file, opened for appending on first use and kept open (a commit
    /// per message should not pay an open each time); the lock keeps lines
    /// from interleaving.
    file: Mutex<Option<std::fs::File>>,
}

/// What reading the copy found.
#[derive(Debug, Default)]
pub struct CheckpointLog {
    pub records: Vec<AuditRecord>,
    /// Lines that are not records (each with its 1-based line number).
    pub damaged: Vec<(usize, String)>,
    /// The last line was cut short (a crash while it was written): not a problem
    /// as long as the store holds that record.
    pub torn_tail: bool,
}

impl Checkpoints {
    pub fn new(path: PathBuf) -> Checkpoints {
        Checkpoints {
            path,
            file: Mutex::new(None),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends records and syncs the file before returning.
    pub fn append(&self, records: &[AuditRecord]) -> Result<(), RuntimeError> {
        if records.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for record in records {
            serde_json::to_writer(&mut lines, record).expect("audit record serialises");
            lines.push(b'\n');
        }
        let mut open = self.file.lock().expect("checkpoint lock");
        if open.is_none() {
            let file = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .mode(0o600)
                .open(&self.path)
                .map_err(|e| io(&self.path, e))?;
            *open = Some(file);
        }
        let file = open.as_mut().expect("opened above");
        file.write_all(&lines).map_err(|e| io(&self.path, e))?;
        file.sync_data().map_err(|e| io(&self.path, e))
    }

    /// Cuts a last line left incomplete by a crash while it was written (the
    /// store holds that record; [`Store::reconcile`](crate::Store) re-appends it).
    pub fn cut_torn_tail(&self) -> Result<(), RuntimeError> {
        let mut open = self.file.lock().expect("checkpoint lock");
        // Reopened on the next append, after the cut.
        *open = None;
        let bytes = match std::fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io(&self.path, e)),
        };
        if bytes.is_empty() || bytes.ends_with(b"\n") {
            return Ok(());
        }
        let keep = bytes.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .map_err(|e| io(&self.path, e))?;
        file.set_len(keep as u64).map_err(|e| io(&self.path, e))?;
        file.sync_all().map_err(|e| io(&self.path, e))?;
        tracing::warn!(path = %self.path.display(), "cut a checkpoint line left incomplete by a crash");
        Ok(())
    }

    /// Reads every record in the copy; a missing file is an empty copy.
    pub fn read(&self) -> Result<CheckpointLog, RuntimeError> {
        let file = match std::fs::File::open(&self.path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(CheckpointLog::default())
            }
            Err(e) => return Err(io(&self.path, e)),
        };
        let mut log = CheckpointLog::default();
        let mut reader = std::io::BufReader::new(file);
        let mut line = Vec::new();
        let mut number = 0;
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| io(&self.path, e))?;
            if read == 0 {
                break;
            }
            number += 1;
            let complete = line.ends_with(b"\n");
            match serde_json::from_slice::<AuditRecord>(&line) {
                Ok(record) if complete => log.records.push(record),
                _ if !complete => log.torn_tail = true,
                Ok(_) => unreachable!("complete is true here"),
                Err(e) => log.damaged.push((number, e.to_string())),
            }
        }
        Ok(log)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_told_apart_from_damage() {
        let dir = tempfile::tempdir().unwrap();
        let checkpoints = Checkpoints::new(dir.path().join("c.log"));
        let mut record = AuditRecord::test_record("d");
        record.id = 1;
        checkpoints.append(&[record.clone()]).unwrap();
        let mut text = std::fs::read(checkpoints.path()).unwrap();
        text.extend_from_slice(b"not json\n{\"id\":");
        std::fs::write(checkpoints.path(), text).unwrap();
        let log = checkpoints.read().unwrap();
        assert_eq!(log.records, vec![record]);
        assert_eq!(log.damaged.len(), 1);
        assert_eq!(log.damaged[0].0, 2);
        assert!(log.torn_tail);
    }
}
