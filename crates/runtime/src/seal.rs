//! The secret behind the audit chain: a key kept outside the store, under
//! which every record's hash is an HMAC, so nobody without the key can rewrite
//! a record and re-hash the chain. Also where the key and the checkpoint copy
//! (see [`crate::checkpoints`]) live by default.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

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

pub(crate) fn io(path: &Path, source: std::io::Error) -> RuntimeError {
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

    /// The key as [`AuditKey::load`] finds it, but `None` instead of making a
    /// new one when there is none (for reading a trail, never for sealing).
    pub fn load_existing(default_file: &Path) -> Result<Option<AuditKey>, RuntimeError> {
        let explicit = std::env::var_os(KEY_ENV).is_some();
        let path = std::env::var_os(KEY_FILE_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(|| default_file.to_path_buf());
        if !explicit && !path.exists() {
            return Ok(None);
        }
        AuditKey::load(default_file).map(Some)
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
}
