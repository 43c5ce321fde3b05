//! What makes the audit trail trustworthy beyond the sled store: a secret key
//! kept outside the store, under which every record's hash is an HMAC (so
//! nobody without the key can rewrite a record and re-hash the chain), and an
//! append-only copy of every record in a second file, synced before any reply,
//! so records the store loses in a crash are found (and restored) and removal
//! of the newest records is detected.

use std::io::{BufRead, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::audit::AuditRecord;
use crate::RuntimeError;

/// Hex-encoded key in the environment, taking precedence over any file.
pub const KEY_ENV: &str = "OPSBOT_AUDIT_KEY";
/// Path of the key file, instead of `audit.key` beside the store.
pub const KEY_FILE_ENV: &str = "OPSBOT_AUDIT_KEY_FILE";
/// Path of the record copy, instead of `audit-checkpoints.log` beside the store.
pub const CHECKPOINTS_ENV: &str = "OPSBOT_AUDIT_CHECKPOINTS";

/// The secret behind the audit chain's HMACs.
#[derive(Clone)]
pub struct AuditKey([u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(…)")
    }
}

fn io(path: &Path, source: std::io::Error) -> RuntimeError {
    RuntimeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn invalid(path: &Path, why: impl Into<String>) -> RuntimeError {
    io(path, std::io::Error::other(why.into()))
}

impl AuditKey {
    /// A fixed key, for tests and benchmarks.
    pub fn from_bytes(bytes: [u8; 32]) -> AuditKey {
        AuditKey(bytes)
    }

    fn from_hex(text: &str, source: &Path) -> Result<AuditKey, RuntimeError> {
        let bytes = hex::decode(text.trim())
            .map_err(|_| invalid(source, "the audit key is not hexadecimal"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| invalid(source, "the audit key must be 64 hexadecimal digits"))?;
        Ok(AuditKey(bytes))
    }

    /// The key from `OPSBOT_AUDIT_KEY`, else the file `OPSBOT_AUDIT_KEY_FILE`
    /// names, else `default_file`; a missing file is created with a fresh key,
    /// readable by its owner only. A key file others may read is refused.
    pub fn load(default_file: &Path) -> Result<AuditKey, RuntimeError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return AuditKey::from_hex(&text, Path::new(KEY_ENV));
        }
        let path = std::env::var_os(KEY_FILE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_file.to_path_buf());
        match std::fs::metadata(&path) {
            Ok(meta) => {
                if meta.permissions().mode() & 0o077 != 0 {
                    return Err(invalid(
                        &path,
                        "the audit key file may be read by other users; expected owner-only permissions (chmod 600)",
                    ));
                }
                let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
                AuditKey::from_hex(&text, &path)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut bytes);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
                }
                let mut file = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                    .map_err(|e| io(&path, e))?;
                writeln!(file, "{}", hex::encode(bytes)).map_err(|e| io(&path, e))?;
                file.sync_all().map_err(|e| io(&path, e))?;
                tracing::info!(path = %path.display(), "created a new audit key; keep it apart from the store and back it up");
                Ok(AuditKey(bytes))
            }
            Err(e) => Err(io(&path, e)),
        }
    }

    /// HMAC-SHA256 of `bytes`, hex.
    pub fn mac(&self, bytes: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(bytes);
        hex::encode(mac.finalize().into_bytes())
    }
}

/// Where the copy of the audit trail lives by default, beside the store.
pub fn default_checkpoints(store: &Path) -> PathBuf {
    std::env::var_os(CHECKPOINTS_ENV)
        .map(PathBuf::from)
        .unwrap_or_else(|| beside(store, "audit-checkpoints.log"))
}

/// Where the key lives by default, beside the store.
pub fn default_key_file(store: &Path) -> PathBuf {
    beside(store, "audit.key")
}

fn beside(store: &Path, name: &str) -> PathBuf {
    store
        .parent()
        .map(|p| p.join(name))
        .unwrap_or_else(|| PathBuf::from(name))
}

/// The append-only copy of every audit record, one JSON line each.
pub struct Checkpoints {
    path: PathBuf,
    /// Appends are serialised so lines never interleave.
    append: Mutex<()>,
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
            append: Mutex::new(()),
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
        let _one_writer = self.append.lock().expect("checkpoint lock");
        let mut lines = Vec::new();
        for record in records {
            serde_json::to_writer(&mut lines, record).expect("audit record serialises");
            lines.push(b'\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o600)
            .open(&self.path)
            .map_err(|e| io(&self.path, e))?;
        file.write_all(&lines).map_err(|e| io(&self.path, e))?;
        file.sync_data().map_err(|e| io(&self.path, e))
    }

    /// Cuts a last line left incomplete by a crash while it was written (the
    /// store holds that record; [`Store::reconcile`](crate::Store) re-appends it).
    pub fn cut_torn_tail(&self) -> Result<(), RuntimeError> {
        let _one_writer = self.append.lock().expect("checkpoint lock");
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
    fn a_key_file_is_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.key");
        let first = AuditKey::load(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let again = AuditKey::load(&path).unwrap();
        assert_eq!(first.mac(b"x"), again.mac(b"x"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let error = AuditKey::load(&path).unwrap_err().to_string();
        assert!(error.contains("chmod 600"), "{error}");
    }

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
