//! Owner-only files for what the bot keeps: the store holds TOTP secrets and
//! the audit trail, the inbox holds what people wrote. Folders are made (or
//! tightened to) 0700 and files 0600; a folder or file that other users may
//! write to is refused, since anyone who can write there can plant or swap
//! the bot's state.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::RuntimeError;

fn io(path: &Path) -> impl Fn(std::io::Error) -> RuntimeError + '_ {
    move |source| RuntimeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn writable_by_others(path: &Path, mode: u32) -> RuntimeError {
    RuntimeError::Unsafe {
        path: path.to_path_buf(),
        why: format!(
            "other users may write to it (mode {:o}); expected it owned by the bot's user and writable by it alone (chmod go-w)",
            mode & 0o7777
        ),
    }
}

/// Makes `dir` (and missing parents) owner-only; an existing folder others
/// may write to is refused, one they may only read is tightened to 0700.
pub fn private_dir(dir: &Path) -> Result<(), RuntimeError> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(io(dir))?;
    }
    let meta = std::fs::metadata(dir).map_err(io(dir))?;
    let mode = meta.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(writable_by_others(dir, mode));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io(dir))?;
    }
    Ok(())
}

/// Refuses a file others may write to; tightens one they may read to 0600.
/// A missing file is fine (it is created owner-only later).
pub fn private_file(file: &Path) -> Result<(), RuntimeError> {
    let meta = match std::fs::symlink_metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(file)(e)),
    };
    let mode = meta.permissions().mode();
    if !meta.file_type().is_file() {
        return Err(RuntimeError::Unsafe {
            path: file.to_path_buf(),
            why: "it is not a regular file (a symbolic link or a special file)".into(),
        });
    }
    if mode & 0o022 != 0 {
        return Err(writable_by_others(file, mode));
    }
    if mode & 0o077 != 0 {
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600)).map_err(io(file))?;
    }
    Ok(())
}

/// Tightens every file under `dir` (sled's files, made with the umask) to
/// 0600 and every folder to 0700.
pub fn tighten_tree(dir: &Path) -> Result<(), RuntimeError> {
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        let kind = entry.file_type().map_err(io(&path))?;
        if kind.is_dir() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o700))
                .map_err(io(&path))?;
            tighten_tree(&path)?;
        } else if kind.is_file() {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .map_err(io(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn folders_are_made_owner_only_and_others_writable_ones_refused() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state/deeper");
        private_dir(&state).unwrap();
        assert_eq!(mode(&state), 0o700);

        let readable = dir.path().join("readable");
        std::fs::create_dir(&readable).unwrap();
        std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o755)).unwrap();
        private_dir(&readable).unwrap();
        assert_eq!(mode(&readable), 0o700, "tightened");

        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let error = private_dir(&open).unwrap_err().to_string();
        assert!(error.contains("other users may write"), "{error}");
    }

    #[test]
    fn files_others_may_write_are_refused_and_readable_ones_tightened() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("copy.log");
        std::fs::write(&file, "x").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        private_file(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666)).unwrap();
        let error = private_file(&file).unwrap_err().to_string();
        assert!(error.contains("other users may write"), "{error}");
        private_file(&dir.path().join("missing")).unwrap();
    }
}
