//! Training the tagger: word vectors from the encoder in batches, then softmax
//! regression over the words' sparse features and vectors (Adagrad, shuffled
//! with a fixed seed so the same data trains the same tagger).

use std::collections::HashMap;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::features::{bio, word_features, words};
use super::{TaggedText, Tagger, TaggerConfig};
use crate::{NluError, SentenceEncoder};

/// Trains the project's tagger, or `None` when no example is annotated.
pub fn train_for_project(
    project: &opsbot_spec::Project,
    encoder: Option<&dyn SentenceEncoder>,
    progress: impl FnMut(usize, usize),
) -> Result<Option<Tagger>, NluError> {
    let examples = TaggedText::from_project(project);
    if examples.iter().all(|e| e.spans.is_empty()) {
        return Ok(None);
    }
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let vectors = encode_words(encoder, &texts, progress)?;
    Ok(Some(Tagger::train(
        &examples,
        &vectors,
        encoder.map(|e| e.id()),
        &project.training_hash,
        TaggerConfig::default(),
    )))
}

/// Contextual word vectors for many texts, in batches (empty vectors without an encoder).
pub fn encode_words(
    encoder: Option<&dyn SentenceEncoder>,
    texts: &[&str],
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<Vec<Vec<f32>>>, NluError> {
    let Some(encoder) = encoder else {
        return Ok(texts.iter().map(|_| Vec::new()).collect());
    };
    let spans: Vec<Vec<(usize, usize)>> = texts.iter().map(|t| words(t)).collect();
    let mut out = Vec::with_capacity(texts.len());
    for (chunk_index, chunk) in texts.chunks(64).enumerate() {
        let items: Vec<(&str, &[(usize, usize)])> = chunk
            .iter()
            .enumerate()
            .map(|(j, t)| (*t, spans[chunk_index * 64 + j].as_slice()))
            .collect();
        out.extend(encoder.encode_words(&items)?.into_iter().map(|w| w.words));
        progress(out.len(), texts.len());
    }
    Ok(out)
}

impl Tagger {
    /// Trains on annotated texts; `vectors[i]` are the word vectors of
    /// `examples[i]` (from [`encode_words`]; empty without an encoder).
    pub fn train(
        examples: &[TaggedText],
        vectors: &[Vec<Vec<f32>>],
        encoder_id: Option<&str>,
        training_hash: &str,
        config: TaggerConfig,
    ) -> Tagger {
        let started = Instant::now();
        let spans: Vec<Vec<(usize, usize)>> = examples.iter().map(|e| words(&e.text)).collect();
        let gold: Vec<Vec<String>> = examples
            .iter()
            .zip(&spans)
            .map(|(e, s)| bio(s, &e.spans))
            .collect();
        let mut labels: Vec<String> = gold.iter().flatten().cloned().collect();
        labels.push("O".into());
        labels.sort();
        labels.dedup();
        // "O" first, so label 0 is always "outside".
        labels.retain(|l| l != "O");
        labels.insert(0, "O".into());
        let label_index: HashMap<&str, usize> = labels
            .iter()
            .enumerate()
            .map(|(i, l)| (l.as_str(), i))
            .collect();
        let features: Vec<Vec<Vec<u64>>> = examples
            .iter()
            .zip(&spans)
            .map(|(e, s)| word_features(&e.text, s))
            .collect();
        let mut index: HashMap<u64, u32> = HashMap::new();
        for f in features.iter().flatten().flatten() {
            let next = index.len() as u32;
            index.entry(*f).or_insert(next);
        }
        let dense_dim = vectors.iter().flatten().next().map_or(0, Vec::len);
        let n_labels = labels.len();
        let mut tagger = Tagger {
            labels: labels.clone(),
            features: index,
            sparse: Vec::new(),
            dense: vec![0.0; dense_dim * n_labels],
            dense_dim,
            dense_weight: config.dense_weight,
            encoder: encoder_id.map(str::to_string),
            training_hash: training_hash.to_string(),
            examples: examples.len(),
            training_seconds: 0.0,
        };
        tagger.sparse = vec![0.0; tagger.features.len() * n_labels];
        let mut sparse_g2 = vec![1e-6f32; tagger.sparse.len()];
        let mut dense_g2 = vec![1e-6f32; tagger.dense.len()];

        // Every word: (sparse rows, dense vector, gold label).
        struct Word {
            rows: Vec<u32>,
            dense: Option<Vec<f32>>,
            gold: usize,
        }
        let mut all: Vec<Word> = Vec::new();
        for (i, example_features) in features.iter().enumerate() {
            for (j, feats) in example_features.iter().enumerate() {
                all.push(Word {
                    rows: feats.iter().map(|f| tagger.features[f]).collect(),
                    dense: vectors
                        .get(i)
                        .and_then(|v| v.get(j))
                        .filter(|v| v.len() == dense_dim && dense_dim > 0)
                        .map(|v| tagger.scaled(v)),
                    gold: label_index[gold[i][j].as_str()],
                });
            }
        }
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut order: Vec<usize> = (0..all.len()).collect();
        let mut scores = vec![0f32; n_labels];
        for _ in 0..config.epochs {
            order.shuffle(&mut rng);
            for &w in &order {
                let word = &all[w];
                tagger.logits(&word.rows, word.dense.as_deref(), &mut scores);
                softmax(&mut scores);
                scores[word.gold] -= 1.0;
                // Adagrad on the cross-entropy gradient, touched rows only.
                for &row in &word.rows {
                    let base = row as usize * n_labels;
                    for (l, g) in scores.iter().enumerate() {
                        let k = base + l;
                        sparse_g2[k] += g * g;
                        tagger.sparse[k] -= config.learning_rate * g / sparse_g2[k].sqrt();
                    }
                }
                if let Some(dense) = &word.dense {
                    for (d, x) in dense.iter().enumerate() {
                        let base = d * n_labels;
                        for (l, g) in scores.iter().enumerate() {
                            let grad = g * x;
                            let k = base + l;
                            dense_g2[k] += grad * grad;
                            tagger.dense[k] -= config.learning_rate * grad / dense_g2[k].sqrt();
                        }
                    }
                }
            }
        }
        tagger.training_seconds = started.elapsed().as_secs_f64();
        tagger
    }

    pub(super) fn scaled(&self, vector: &[f32]) -> Vec<f32> {
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        vector
            .iter()
            .map(|x| x / norm * self.dense_weight)
            .collect()
    }

    pub(super) fn logits(&self, rows: &[u32], dense: Option<&[f32]>, out: &mut [f32]) {
        let n = self.labels.len();
        out.iter_mut().for_each(|x| *x = 0.0);
        for &row in rows {
            let base = row as usize * n;
            for (l, o) in out.iter_mut().enumerate() {
                *o += self.sparse[base + l];
            }
        }
        if let Some(dense) = dense {
            // Never past the trained dimension, whatever the encoder hands in.
            for (d, x) in dense.iter().enumerate().take(self.dense_dim) {
                let base = d * n;
                for (l, o) in out.iter_mut().enumerate() {
                    *o += x * self.dense[base + l];
                }
            }
        }
    }
}

pub(super) fn softmax(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}
