//! Reading project files: only regular, bounded files, parsed with positions
//! for diagnostics; and the hash of the training files.

use super::*;

pub(super) struct SourceFile {
    pub(super) display: PathBuf,
    pub(super) text: String,
    pub(super) index: PositionIndex,
}

pub(super) fn read_source(root: &Path, relative: &Path) -> Result<SourceFile, SpecError> {
    let path = root.join(relative);
    let text = guard::read_project_file(&path).map_err(|source| SpecError::Io {
        path: path.clone(),
        source,
    })?;
    if let Some((line, column)) = guard::too_deep(&text) {
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(
            Location::new(relative, line, column),
            format!(
                "collections nest too deeply here; expected at most {} levels",
                guard::MAX_NESTING
            ),
        );
        return Err(SpecError::Invalid(diagnostics));
    }
    let index = PositionIndex::build(relative, &text);
    Ok(SourceFile {
        display: relative.to_path_buf(),
        text,
        index,
    })
}

pub(super) fn yaml_files(root: &Path, folder: &str) -> Result<Vec<PathBuf>, SpecError> {
    let dir = root.join(folder);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SpecError::Io { path: dir, source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SpecError::Io {
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if (name.ends_with(".yaml") || name.ends_with(".yml")) && !name.starts_with('.') {
            files.push(Path::new(folder).join(&*name));
        }
    }
    files.sort();
    Ok(files)
}

/// Deserialises one file; a syntax or type error becomes a diagnostic at serde's
/// position. An empty file is an empty document.
pub(super) fn parse_yaml<T: serde::de::DeserializeOwned + Default>(
    file: &SourceFile,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    if file
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Some(T::default());
    }
    match serde_yaml::from_str::<T>(&file.text) {
        Ok(value) => Some(value),
        Err(error) => {
            let (line, column) = error
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            let message = error.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_string(),
                None => message,
            };
            diagnostics.push(Location::new(&file.display, line, column), message);
            None
        }
    }
}

/// SHA-256 over the names and contents of the training files.
pub fn training_hash(root: &Path) -> Result<String, SpecError> {
    let mut hasher = Sha256::new();
    for relative in yaml_files(root, "intents")? {
        let path = root.join(&relative);
        let bytes = std::fs::read(&path).map_err(|source| SpecError::Io { path, source })?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}
