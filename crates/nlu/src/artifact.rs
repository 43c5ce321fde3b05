//! The framing every trained artifact shares: a magic line, a readable JSON
//! header, the SHA-256 of header and body, then the bincode body. Written to a
//! temporary file and renamed, so a reader never sees half a file; the
//! checksum is checked before anything is decoded, so a damaged byte anywhere
//! is a clear error naming the file, never a panic or a silently wrong model.

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::NluError;

/// The largest artifact read (far above any model opsbot trains).
const MAX_ARTIFACT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

fn corrupt(path: &Path, reason: impl Into<String>) -> NluError {
    NluError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn checksum(header: &[u8], body: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update((header.len() as u64).to_le_bytes());
    hash.update(header);
    hash.update(body);
    hash.finalize().into()
}

/// Writes `magic`, the header, the checksum and the body, atomically.
pub fn write(path: &Path, magic: &[u8], header: &[u8], body: &[u8]) -> Result<(), NluError> {
    let io = |source| NluError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    let header_length = u32::try_from(header.len())
        .map_err(|_| corrupt(path, "the header is larger than 4 GiB"))?;
    let temporary = path.with_extension("bin.partial");
    let mut file = std::fs::File::create(&temporary).map_err(io)?;
    file.write_all(magic).map_err(io)?;
    file.write_all(&header_length.to_le_bytes()).map_err(io)?;
    file.write_all(header).map_err(io)?;
    file.write_all(b"\n").map_err(io)?;
    file.write_all(&checksum(header, body)).map_err(io)?;
    file.write_all(body).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(io)
}

/// An artifact read and checked: its header and body bytes.
pub struct Artifact {
    bytes: Vec<u8>,
    header: std::ops::Range<usize>,
    body: std::ops::Range<usize>,
}

impl Artifact {
    pub fn header(&self) -> &[u8] {
        &self.bytes[self.header.clone()]
    }

    pub fn body(&self) -> &[u8] {
        &self.bytes[self.body.clone()]
    }
}

/// Reads a regular file, checks `magic`, the framing and the checksum.
/// `what` names the artifact in errors ("an opsbot intent model").
pub fn read(path: &Path, magic: &[u8], what: &str) -> Result<Artifact, NluError> {
    let io = |source: std::io::Error| {
        if source.kind() == std::io::ErrorKind::NotFound {
            NluError::Missing {
                path: path.to_path_buf(),
            }
        } else {
            NluError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if !meta.is_file() {
        return Err(corrupt(path, "it is not a regular file"));
    }
    if meta.len() > MAX_ARTIFACT_BYTES {
        return Err(corrupt(
            path,
            format!(
                "it is {} bytes, more than any model opsbot writes",
                meta.len()
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(io)?;
    let Some(rest) = bytes.strip_prefix(magic) else {
        return Err(corrupt(path, format!("it does not start like {what}")));
    };
    let start = magic.len();
    let cut = || corrupt(path, "the file is cut short; run `opsbot train`");
    let length = rest
        .get(..4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
        .ok_or_else(cut)?;
    let header = start + 4..start + 4 + length;
    if bytes.get(header.end) != Some(&b'\n') {
        return Err(cut());
    }
    let sum = header.end + 1..header.end + 33;
    let stored: [u8; 32] = bytes
        .get(sum.clone())
        .ok_or_else(cut)?
        .try_into()
        .expect("32 bytes");
    let body = sum.end..bytes.len();
    if checksum(&bytes[header.clone()], &bytes[body.clone()]) != stored {
        return Err(corrupt(
            path,
            "its checksum does not match its content: the file is damaged; run `opsbot train` to write it again",
        ));
    }
    Ok(Artifact {
        bytes,
        header,
        body,
    })
}

/// Every value finite: a model holding NaN or infinity answers nonsense.
pub fn all_finite(values: &[f32]) -> bool {
    values.iter().all(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_damaged_byte_is_caught_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        write(&path, b"MAGIC\n", br#"{"x":1}"#, b"body bytes here").unwrap();
        let good = std::fs::read(&path).unwrap();
        let artifact = read(&path, b"MAGIC\n", "a test artifact").unwrap();
        assert_eq!(artifact.header(), br#"{"x":1}"#);
        assert_eq!(artifact.body(), b"body bytes here");
        for offset in 0..good.len() {
            for flip in [0x01u8, 0x80] {
                let mut bad = good.clone();
                bad[offset] ^= flip;
                std::fs::write(&path, &bad).unwrap();
                let error = read(&path, b"MAGIC\n", "a test artifact")
                    .err()
                    .unwrap_or_else(|| panic!("byte {offset} ^ {flip:#x} went unnoticed"));
                let text = error.to_string();
                assert!(text.contains("a.bin") && text.len() > 30, "{text}");
            }
        }
        for length in 0..good.len() {
            std::fs::write(&path, &good[..length]).unwrap();
            assert!(
                read(&path, b"MAGIC\n", "a test artifact").is_err(),
                "cut at {length}"
            );
        }
    }
}
