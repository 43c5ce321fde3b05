//! A file of embeddings keyed by (encoder id, text), so retraining only encodes
//! new or changed examples.
//!
//! Append-only records of `sha256(id, text)` (32 bytes), a dimension (u32 LE) and
//! the values (f32 LE). A record cut short by a crash is ignored on load and
//! overwritten: losing a cached embedding only costs its re-encoding. Only
//! training data goes in here; chat messages are never written to disk.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use opsbot_nlu::{NluError, SentenceEncoder, WordEncoding};
use sha2::{Digest, Sha256};

use crate::{EncoderError, MiniLm};

const MAGIC: &[u8; 12] = b"OPSBOT-EMB1\n";

type Key = [u8; 32];

pub struct EmbeddingCache {
    path: PathBuf,
    entries: HashMap<Key, Vec<f32>>,
    /// Bytes of whole records in the file; a torn tail beyond it is overwritten.
    valid_len: u64,
}

impl EmbeddingCache {
    /// Opens (or starts) the cache at `path`. An unreadable file is started afresh.
    pub fn open(path: &Path) -> EmbeddingCache {
        let mut cache = EmbeddingCache {
            path: path.to_path_buf(),
            entries: HashMap::new(),
            valid_len: 0,
        };
        let Ok(bytes) = std::fs::read(path) else {
            return cache;
        };
        if !bytes.starts_with(MAGIC) {
            tracing::warn!(path = %path.display(), "embedding cache has an unknown format; starting a new one");
            return cache;
        }
        let mut at = MAGIC.len();
        while let Some(header) = bytes.get(at..at + 36) {
            let key: Key = header[..32].try_into().expect("32 bytes");
            let dimension =
                u32::from_le_bytes(header[32..36].try_into().expect("4 bytes")) as usize;
            let Some(values) = bytes.get(at + 36..at + 36 + dimension * 4) else {
                break;
            };
            let values = values
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            cache.entries.insert(key, values);
            at += 36 + dimension * 4;
        }
        cache.valid_len = at as u64;
        cache
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn key(encoder_id: &str, text: &str) -> Key {
        let mut hasher = Sha256::new();
        hasher.update(encoder_id.as_bytes());
        hasher.update([0u8]);
        hasher.update(text.as_bytes());
        hasher.finalize().into()
    }

    pub fn get(&self, encoder_id: &str, text: &str) -> Option<&Vec<f32>> {
        self.entries.get(&Self::key(encoder_id, text))
    }

    /// Adds embeddings and appends them to the file.
    pub fn insert_all(
        &mut self,
        encoder_id: &str,
        items: &[(&str, &Vec<f32>)],
    ) -> Result<(), EncoderError> {
        let io = |source| EncoderError::Io {
            path: self.path.clone(),
            source,
        };
        if let Some(parent) = self.path.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&self.path)
            .map_err(io)?;
        if self.valid_len < MAGIC.len() as u64 {
            file.set_len(0).map_err(io)?;
            (&file).write_all(MAGIC).map_err(io)?;
            self.valid_len = MAGIC.len() as u64;
        } else {
            file.set_len(self.valid_len).map_err(io)?;
        }
        let mut out = BufWriter::new(append_at(file, self.valid_len).map_err(io)?);
        for (text, values) in items {
            let key = Self::key(encoder_id, text);
            out.write_all(&key).map_err(io)?;
            out.write_all(&(values.len() as u32).to_le_bytes())
                .map_err(io)?;
            for v in values.iter() {
                out.write_all(&v.to_le_bytes()).map_err(io)?;
            }
            self.valid_len += 36 + values.len() as u64 * 4;
            self.entries.insert(key, (*values).clone());
        }
        out.flush().map_err(io)?;
        Ok(())
    }
}

fn append_at(mut file: File, position: u64) -> std::io::Result<File> {
    use std::io::{Seek, SeekFrom};
    file.seek(SeekFrom::Start(position))?;
    Ok(file)
}

/// The encoder with the cache in front: what training uses.
pub struct CachedEncoder<'a> {
    encoder: &'a MiniLm,
    cache: Mutex<EmbeddingCache>,
    /// Sentences that were not in the cache and went through the network.
    misses: std::sync::atomic::AtomicUsize,
}

impl<'a> CachedEncoder<'a> {
    pub fn new(encoder: &'a MiniLm, cache: EmbeddingCache) -> CachedEncoder<'a> {
        CachedEncoder {
            encoder,
            cache: Mutex::new(cache),
            misses: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    /// Embeddings found in the cache so far.
    pub fn cached(&self) -> usize {
        self.cache.lock().map(|c| c.len()).unwrap_or(0)
    }
}

impl SentenceEncoder for CachedEncoder<'_> {
    fn id(&self) -> &str {
        self.encoder.id()
    }

    fn dimension(&self) -> usize {
        self.encoder.dimension()
    }

    fn network_encodings(&self) -> Option<usize> {
        Some(self.misses.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Word vectors are not cached: they are only needed to train the tagger.
    fn encode_words(
        &self,
        items: &[(&str, &[(usize, usize)])],
    ) -> Result<Vec<WordEncoding>, NluError> {
        SentenceEncoder::encode_words(self.encoder, items)
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NluError> {
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| NluError::Encoder("embedding cache lock poisoned".into()))?;
        let id = self.encoder.id();
        let mut out: Vec<Option<Vec<f32>>> =
            texts.iter().map(|t| cache.get(id, t).cloned()).collect();
        let missing: Vec<usize> = (0..texts.len()).filter(|&i| out[i].is_none()).collect();
        if !missing.is_empty() {
            self.misses
                .fetch_add(missing.len(), std::sync::atomic::Ordering::Relaxed);
            let batch: Vec<&str> = missing.iter().map(|&i| texts[i]).collect();
            let encoded = self
                .encoder
                .encode(&batch)
                .map_err(|e| NluError::Encoder(e.to_string()))?;
            let items: Vec<(&str, &Vec<f32>)> = batch.iter().copied().zip(&encoded).collect();
            if let Err(e) = cache.insert_all(id, &items) {
                // The embeddings are still good; only the next retrain is slower.
                tracing::warn!(error = %e, "could not write the embedding cache");
            }
            for (&i, embedding) in missing.iter().zip(encoded) {
                out[i] = Some(embedding);
            }
        }
        Ok(out.into_iter().map(Option::unwrap_or_default).collect())
    }
}

impl SentenceEncoder for MiniLm {
    fn id(&self) -> &str {
        MiniLm::id(self)
    }

    fn dimension(&self) -> usize {
        MiniLm::dimension(self)
    }

    fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, NluError> {
        MiniLm::encode(self, texts).map_err(|e| NluError::Encoder(e.to_string()))
    }

    fn encode_words(
        &self,
        items: &[(&str, &[(usize, usize)])],
    ) -> Result<Vec<WordEncoding>, NluError> {
        Ok(MiniLm::encode_words(self, items)
            .map_err(|e| NluError::Encoder(e.to_string()))?
            .into_iter()
            .map(|(sentence, words)| WordEncoding { sentence, words })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn survives_a_torn_tail_and_keeps_whole_records() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.bin");
        let mut cache = EmbeddingCache::open(&path);
        let a = vec![1.0, 2.0, 3.0];
        let b = vec![4.0, 5.0, 6.0];
        cache.insert_all("enc", &[("a", &a), ("b", &b)]).unwrap();
        // A crash in the middle of the next record.
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&[7u8; 20]);
        std::fs::write(&path, &bytes).unwrap();

        let mut reopened = EmbeddingCache::open(&path);
        assert_eq!(reopened.get("enc", "a"), Some(&a));
        assert_eq!(reopened.get("enc", "b"), Some(&b));
        assert_eq!(reopened.get("other encoder", "a"), None);
        let c = vec![0.5, 0.25, 0.125];
        reopened.insert_all("enc", &[("c", &c)]).unwrap();
        let again = EmbeddingCache::open(&path);
        assert_eq!(again.len(), 3);
        assert_eq!(again.get("enc", "c"), Some(&c));
    }
}
