//! all-MiniLM-L6-v2 loaded from local files into rust-bert's `BertModel`.
//!
//! tch 0.10 cannot read safetensors, so the weights are read with the
//! `safetensors` crate and copied into the variables of a `BertModel` built from
//! `config.json`; every variable must be found in the file, or loading fails
//! instead of running a half-initialised network.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rust_bert::bert::{BertConfig, BertEmbeddings, BertModel};
use sha2::{Digest, Sha256};
use tch::{nn, Device, Kind, Tensor};
use tokenizers::Tokenizer;

use crate::EncoderError;

/// Where `make models` unpacks the encoder, relative to the project.
pub const MODEL_DIR: &str = "models/all-MiniLM-L6-v2";

/// Longest input in tokens; longer messages are truncated (the model was trained
/// on at most 256 word pieces, chat messages are far shorter).
const MAX_TOKENS: usize = 128;

/// Sentences per forward pass when encoding many (training data).
const BATCH: usize = 64;

pub struct MiniLm {
    /// libtorch tensors may move between threads but not be shared: one forward
    /// pass at a time (each uses the intra-op threads set with `set_threads`).
    pub(crate) network: Mutex<Network>,
    tokenizer: Tokenizer,
    id: String,
    dimension: usize,
}

pub(crate) struct Network {
    pub(crate) model: BertModel<BertEmbeddings>,
    pub(crate) vars: nn::VarStore,
}

impl std::fmt::Debug for MiniLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MiniLm").field("id", &self.id).finish()
    }
}

impl MiniLm {
    /// Loads the model from `dir` (holding `config.json`, `tokenizer.json` and
    /// `model.safetensors`).
    pub fn load(dir: &Path) -> Result<MiniLm, EncoderError> {
        let file = |name: &str| -> Result<PathBuf, EncoderError> {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(EncoderError::Missing { path })
            }
        };
        let config_path = file("config.json")?;
        let tokenizer_path = file("tokenizer.json")?;
        let weights_path = file("model.safetensors")?;
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| EncoderError::Io {
                path: path.to_path_buf(),
                source,
            })
        };
        let invalid = |path: &Path, reason: String| EncoderError::Invalid {
            path: path.to_path_buf(),
            reason,
        };

        let config: BertConfig = serde_json::from_slice(&read(&config_path)?)
            .map_err(|e| invalid(&config_path, e.to_string()))?;
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| invalid(&tokenizer_path, e.to_string()))?;
        // The shipped tokenizer pads every input to 128 tokens: slow, and mean
        // pooling must only see real tokens, so batches are padded here instead.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: MAX_TOKENS,
                ..Default::default()
            }))
            .map_err(|e| invalid(&tokenizer_path, e.to_string()))?;

        let digest = file_digest(&weights_path).map_err(|source| EncoderError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let id = format!("all-MiniLM-L6-v2@{}", &digest[..16]);
        let vars = nn::VarStore::new(Device::Cpu);
        let model = BertModel::<BertEmbeddings>::new(vars.root(), &config);
        copy_weights(&vars, &weights_path).map_err(|reason| invalid(&weights_path, reason))?;
        Ok(MiniLm {
            network: Mutex::new(Network { model, vars }),
            tokenizer,
            id,
            dimension: config.hidden_size as usize,
        })
    }

    /// Intra-op threads of libtorch for this process. One thread is fastest for
    /// one short message (no thread hand-offs); batches gain from more.
    pub fn set_threads(threads: usize) {
        tch::set_num_threads(threads.max(1) as i32);
    }

    /// Identifies the weights: a model trained on these embeddings is only valid with them.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn dimension(&self) -> usize {
        self.dimension
    }

    /// Unit-length sentence embeddings, one per text, in order.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let mut out = vec![Vec::new(); texts.len()];
        // Similar lengths together: less padding, fewer wasted operations.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| texts[i].len());
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
            for (i, embedding) in chunk.iter().zip(self.encode_batch(&batch)?) {
                out[*i] = embedding;
            }
        }
        Ok(out)
    }

    /// Token ids and attention mask of a batch, padded to its longest text.
    pub(crate) fn batch_tensors(&self, texts: &[&str]) -> Result<(Tensor, Tensor), EncoderError> {
        self.batch(texts).map(|(ids, mask, _)| (ids, mask))
    }

    /// For each (text, word spans): the sentence embedding and one vector per
    /// word, the mean of the last layer's states of the word pieces that overlap
    /// it (zeros for a word cut off by truncation). One forward pass per batch.
    pub fn encode_words(
        &self,
        items: &[(&str, &[(usize, usize)])],
    ) -> Result<Vec<SentenceAndWords>, EncoderError> {
        let mut out = Vec::with_capacity(items.len());
        for chunk in items.chunks(BATCH) {
            let texts: Vec<&str> = chunk.iter().map(|(t, _)| *t).collect();
            let (ids, mask, offsets) = self.batch(&texts)?;
            let network = self
                .network
                .lock()
                .map_err(|_| EncoderError::Encode("encoder lock poisoned".into()))?;
            let (hidden, pooled) = tch::no_grad(|| -> Result<(Tensor, Tensor), EncoderError> {
                let output = network
                    .model
                    .forward_t(Some(&ids), Some(&mask), None, None, None, None, None, false)
                    .map_err(|e| EncoderError::Encode(e.to_string()))?;
                let pooled = mean_pool_normalised(&output.hidden_state, &mask);
                Ok((output.hidden_state, pooled))
            })?;
            drop(network);
            let width = hidden.size()[1] as usize;
            let dim = self.dimension;
            let hidden: Vec<f32> = Vec::from(&hidden.contiguous().view([-1]));
            let pooled: Vec<f32> = Vec::from(&pooled.contiguous().view([-1]));
            for (row, (_, spans)) in chunk.iter().enumerate() {
                let words = spans
                    .iter()
                    .map(|&(start, end)| {
                        let mut sum = vec![0f32; dim];
                        let mut count = 0;
                        for (col, &(s, e)) in offsets[row].iter().enumerate() {
                            if e > s && s < end && e > start {
                                let at = (row * width + col) * dim;
                                for (x, h) in sum.iter_mut().zip(&hidden[at..at + dim]) {
                                    *x += h;
                                }
                                count += 1;
                            }
                        }
                        if count > 0 {
                            sum.iter_mut().for_each(|x| *x /= count as f32);
                        }
                        sum
                    })
                    .collect();
                out.push((pooled[row * dim..(row + 1) * dim].to_vec(), words));
            }
        }
        Ok(out)
    }

    /// Ids, mask and each token's byte offsets ((0, 0) for special tokens).
    #[allow(clippy::type_complexity)]
    fn batch(
        &self,
        texts: &[&str],
    ) -> Result<(Tensor, Tensor, Vec<Vec<(usize, usize)>>), EncoderError> {
        let encodings = self
            .tokenizer
            .encode_batch(texts.to_vec(), true)
            .map_err(|e| EncoderError::Encode(e.to_string()))?;
        let width = encodings
            .iter()
            .map(|e| e.get_ids().len())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut ids = vec![0i64; texts.len() * width];
        let mut mask = vec![0i64; texts.len() * width];
        for (row, encoding) in encodings.iter().enumerate() {
            for (col, (&id, &m)) in encoding
                .get_ids()
                .iter()
                .zip(encoding.get_attention_mask())
                .enumerate()
            {
                ids[row * width + col] = id as i64;
                mask[row * width + col] = m as i64;
            }
        }
        let shape = [texts.len() as i64, width as i64];
        let offsets = encodings.iter().map(|e| e.get_offsets().to_vec()).collect();
        Ok((
            Tensor::of_slice(&ids).view(shape),
            Tensor::of_slice(&mask).view(shape),
            offsets,
        ))
    }

    fn encode_batch(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EncoderError> {
        let (ids, mask) = self.batch_tensors(texts)?;
        let network = self
            .network
            .lock()
            .map_err(|_| EncoderError::Encode("encoder lock poisoned".into()))?;
        let pooled = tch::no_grad(|| -> Result<Tensor, EncoderError> {
            let output = network
                .model
                .forward_t(Some(&ids), Some(&mask), None, None, None, None, None, false)
                .map_err(|e| EncoderError::Encode(e.to_string()))?;
            Ok(mean_pool_normalised(&output.hidden_state, &mask))
        })?;
        let flat: Vec<f32> = Vec::from(&pooled.contiguous().view([-1]));
        Ok(flat.chunks(self.dimension).map(<[f32]>::to_vec).collect())
    }
}

/// A sentence embedding and its words' vectors.
pub type SentenceAndWords = (Vec<f32>, Vec<Vec<f32>>);

/// Mean of the token states where the mask is 1, scaled to unit length.
pub(crate) fn mean_pool_normalised(hidden: &Tensor, mask: &Tensor) -> Tensor {
    let mask = mask.to_kind(Kind::Float).unsqueeze(-1);
    let summed = (hidden * &mask).sum_dim_intlist(Some([1i64].as_slice()), false, Kind::Float);
    let counts = mask
        .sum_dim_intlist(Some([1i64].as_slice()), false, Kind::Float)
        .clamp_min(1e-9);
    let mean = summed / counts;
    let norm = mean
        .norm_scalaropt_dim(2, [1i64].as_slice(), true)
        .clamp_min(1e-12);
    mean / norm
}

/// Copies every variable of `vars` from the safetensors file's tensor of the same
/// name; a missing or misshapen tensor is an error. Tensors are read one at a
/// time, so loading never holds a second copy of the weights in memory.
fn copy_weights(vars: &nn::VarStore, path: &Path) -> Result<(), String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let length = file.metadata().map_err(|e| e.to_string())?.len();
    let mut size = [0u8; 8];
    file.read_exact(&mut size).map_err(|e| e.to_string())?;
    let header_length = u64::from_le_bytes(size);
    if header_length > 100 << 20 || 8 + header_length > length {
        return Err("the header length is out of range".into());
    }
    let mut header = vec![0u8; header_length as usize];
    file.read_exact(&mut header).map_err(|e| e.to_string())?;
    let metadata: safetensors::tensor::Metadata =
        serde_json::from_slice(&header).map_err(|e| format!("header: {e}"))?;
    let data_start = 8 + header_length;
    let mut buffer = Vec::new();
    let mut variables = vars.variables();
    let mut missing = Vec::new();
    for (name, variable) in variables.iter_mut() {
        let Some(info) = metadata.info(name) else {
            missing.push(name.clone());
            continue;
        };
        if info.dtype != safetensors::Dtype::F32 {
            return Err(format!("{name} is {:?}, expected F32", info.dtype));
        }
        let shape: Vec<i64> = info.shape.iter().map(|&d| d as i64).collect();
        if shape != variable.size() {
            return Err(format!(
                "{name} has shape {shape:?}, the model expects {:?}",
                variable.size()
            ));
        }
        let (begin, end) = info.data_offsets;
        let expected = shape.iter().product::<i64>() as usize * 4;
        if end < begin || end - begin != expected || data_start + end as u64 > length {
            return Err(format!("{name}: its data lies outside the file"));
        }
        buffer.resize(expected, 0);
        file.seek(SeekFrom::Start(data_start + begin as u64))
            .and_then(|_| file.read_exact(&mut buffer))
            .map_err(|e| format!("{name}: {e}"))?;
        // Little-endian f32, as on x86-64 and aarch64.
        let source = Tensor::f_of_data_size(&buffer, &shape, Kind::Float)
            .map_err(|e| format!("{name}: {e}"))?;
        tch::no_grad(|| variable.copy_(&source));
    }
    if missing.is_empty() {
        Ok(())
    } else {
        missing.sort();
        Err(format!("missing tensors: {}", missing.join(", ")))
    }
}

/// SHA-256 of a file, read in small pieces.
fn file_digest(path: &Path) -> std::io::Result<String> {
    let mut file = std::io::BufReader::new(std::fs::File::open(path)?);
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(MODEL_DIR)
    }

    fn cosine(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[test]
    fn reproduces_the_reference_sentence_embeddings() {
        let encoder = MiniLm::load(&model_dir()).expect("run `make models` first");
        let texts = [
            "restart apache on web-01",
            "please bounce the apache service",
            "what's the weather in Paris",
        ];
        let batch = encoder.encode(&texts).unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch[0].len(), 384);
        let norm = cosine(&batch[0], &batch[0]);
        assert!((norm - 1.0).abs() < 1e-4, "unit length, got {norm}");
        // Reference figures from sentence-transformers for these sentences.
        assert!((cosine(&batch[0], &batch[1]) - 0.48).abs() < 0.02);
        assert!(cosine(&batch[0], &batch[2]).abs() < 0.05);
        // Padding in a batch must not change a sentence's embedding.
        let alone = encoder.encode(&texts[..1]).unwrap();
        assert!(cosine(&alone[0], &batch[0]) > 0.9999);
    }

    #[test]
    fn word_vectors_come_from_the_same_pass_as_the_sentence() {
        let encoder = MiniLm::load(&model_dir()).expect("run `make models` first");
        let text = "restart nginx on web-17";
        let spans = [(0, 7), (8, 13), (14, 16), (17, 23)];
        let out = encoder.encode_words(&[(text, &spans[..])]).unwrap();
        let (sentence, words) = &out[0];
        let alone = encoder.encode(&[text]).unwrap();
        assert!(cosine(sentence, &alone[0]) > 0.9999);
        assert_eq!(words.len(), 4);
        assert!(words
            .iter()
            .all(|w| w.len() == 384 && w.iter().any(|x| *x != 0.0)));
        // Context matters: "nginx" here differs from "nginx" in another sentence.
        let other = encoder
            .encode_words(&[("nginx is down", &[(0, 5)][..])])
            .unwrap();
        let unit = |v: &[f32]| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            v.iter().map(|x| x / n).collect::<Vec<f32>>()
        };
        let similarity = cosine(&unit(&words[1]), &unit(&other[0].1[0]));
        assert!(similarity < 0.999 && similarity > 0.3, "{similarity}");
    }

    #[test]
    fn a_missing_model_names_the_file_and_the_fix() {
        let err = MiniLm::load(Path::new("/nonexistent")).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("/nonexistent/config.json"), "{message}");
        assert!(message.contains("make models"), "{message}");
    }
}
