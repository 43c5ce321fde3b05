//! The trained slot tagger: finds annotated entities from the words around them,
//! so a value never seen in training ("restart nginx on zeta-42") is still found.
//!
//! Token classification with BIO labels over words. Each word's features are the
//! encoder's contextual vector for it (the mean of its word pieces) and sparse
//! word-shape and context features (the word, its shape, prefixes and suffixes,
//! its neighbours). Softmax regression trained in Rust (Adagrad); decoding is
//! Viterbi under the BIO constraint (an `I-x` only after a `B-x` or `I-x`).
//! Saved as its own artifact beside the intent model, named by the same data hash.

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;
use std::time::Instant;

use rand::seq::SliceRandom;
use rand::SeedableRng;
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::{NluError, SentenceEncoder};

/// The tagger's file under `models/`.
pub const TAGGER_FILE: &str = "slot-tagger.bin";
const MAGIC: &[u8] = b"OPSBOT-TAGGER\n";
const FORMAT_VERSION: u32 = 2;
/// Spans the tagger is less sure of than this are dropped.
pub const MIN_SPAN_CONFIDENCE: f32 = 0.5;

/// An example for the tagger: text and annotated (start, end, entity) byte spans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedText {
    pub text: String,
    pub spans: Vec<(usize, usize, String)>,
}

impl TaggedText {
    /// Every example of the project (intents and out of scope), with the bot's
    /// name masked as the classifier sees it; examples without annotations teach
    /// what is not a value.
    pub fn from_project(project: &opsbot_spec::Project) -> Vec<TaggedText> {
        project
            .intents
            .values()
            .flat_map(|i| i.examples.iter())
            .chain(project.out_of_scope.iter())
            .map(|e| TaggedText {
                text: crate::text::mask_bot_name(&e.text, &project.settings.name),
                spans: e
                    .spans
                    .iter()
                    .map(|s| (s.start, s.end, s.entity.clone()))
                    .collect(),
            })
            .collect()
    }
}

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

/// k-fold evaluation of the whole extraction on the project's annotations:
/// listed values, patterns, built-in types and typos as the bot finds them, plus
/// a tagger trained on the other folds; exact span and entity. Listed values
/// learned from annotations are known in every fold, so entities with closed
/// lists score as the running bot would on the same phrasings.
pub fn cross_validate_slots(
    project: &opsbot_spec::Project,
    extractor: &crate::EntityExtractor,
    encoder: Option<&dyn SentenceEncoder>,
    folds: usize,
    seed: u64,
) -> Result<SlotScores, NluError> {
    let examples = TaggedText::from_project(project);
    // The entities each example's dialog has slots for, in the order of
    // `from_project`: overlapping readings are resolved by them, as the bot does.
    let slot_entities: Vec<Option<std::collections::BTreeSet<String>>> = project
        .intents
        .values()
        .flat_map(|intent| {
            let entities = project
                .dialog_for_intent(&intent.name)
                .map(|d| d.slots.iter().map(|s| s.entity.clone()).collect());
            intent.examples.iter().map(move |_| entities.clone())
        })
        .chain(project.out_of_scope.iter().map(|_| None))
        .collect();
    let texts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
    let vectors = encode_words(encoder, &texts, |_, _| {})?;
    let folds = folds.clamp(2, examples.len().max(2));
    let mut order: Vec<usize> = (0..examples.len()).collect();
    order.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(seed));
    let mut fold_of = vec![0; examples.len()];
    for (position, &i) in order.iter().enumerate() {
        fold_of[i] = position % folds;
    }
    let mut scores = SlotScores::default();
    for fold in 0..folds {
        let train: Vec<usize> = (0..examples.len())
            .filter(|&i| fold_of[i] != fold)
            .collect();
        let train_examples: Vec<TaggedText> = train.iter().map(|&i| examples[i].clone()).collect();
        let train_vectors: Vec<Vec<Vec<f32>>> = train.iter().map(|&i| vectors[i].clone()).collect();
        let tagger = Tagger::train(
            &train_examples,
            &train_vectors,
            encoder.map(|e| e.id()),
            &project.training_hash,
            TaggerConfig::default(),
        );
        for i in (0..examples.len()).filter(|&i| fold_of[i] == fold) {
            let text = &examples[i].text;
            let tagged = tagger.tag(text, &vectors[i]);
            let mut found = extractor.with_tagged(text, extractor.candidates(text), &tagged);
            if let Some(Some(entities)) = slot_entities.get(i) {
                found.retain(|m| entities.contains(&m.entity));
            }
            let predicted: Vec<(usize, usize, String)> =
                opsbot_spec::entity::remove_overlaps(found)
                    .into_iter()
                    .map(|m| (m.start, m.end, m.entity))
                    .collect();
            scores.add(&examples[i].spans, &predicted);
        }
    }
    Ok(scores)
}

/// A span the tagger found.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedSpan {
    pub entity: String,
    pub start: usize,
    pub end: usize,
    /// Mean probability of the span's labels.
    pub confidence: f32,
}

#[derive(Debug, Clone, Copy)]
pub struct TaggerConfig {
    pub epochs: usize,
    pub learning_rate: f32,
    /// Scale of the contextual word vector beside the 0/1 sparse features.
    pub dense_weight: f32,
}

impl Default for TaggerConfig {
    fn default() -> Self {
        TaggerConfig {
            epochs: 8,
            learning_rate: 0.1,
            dense_weight: 2.0,
        }
    }
}

static WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{N}@][\p{L}\p{N}._:/@+\-]*[\p{L}\p{N}]|[\p{L}\p{N}]|'s\b").unwrap()
});

/// The words of a text as byte spans: letters and digits with the inner
/// punctuation of host names, versions, addresses and URLs ("web-12.prod",
/// "v2.4.1-rc1", "@ada:example.org"); sentence punctuation is left out.
pub fn words(text: &str) -> Vec<(usize, usize)> {
    WORD.find_iter(text).map(|m| (m.start(), m.end())).collect()
}

/// "web-01" → "x-d", "Paris" → "Xx", "v2.4.1" → "xd.d.d".
fn shape(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        let k = if c.is_uppercase() {
            'X'
        } else if c.is_lowercase() {
            'x'
        } else if c.is_ascii_digit() {
            'd'
        } else {
            c
        };
        if !out.ends_with(k) {
            out.push(k);
        }
    }
    out
}

fn fnv(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        hash ^= b as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash
}

/// Sparse feature hashes of every word of a text.
fn word_features(text: &str, spans: &[(usize, usize)]) -> Vec<Vec<u64>> {
    let lower: Vec<String> = spans
        .iter()
        .map(|&(s, e)| text[s..e].to_lowercase())
        .collect();
    let shapes: Vec<String> = spans.iter().map(|&(s, e)| shape(&text[s..e])).collect();
    let at = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else {
            lower.get(i as usize).map_or("</s>", String::as_str)
        }
    };
    let shape_at = |i: isize| -> &str {
        if i < 0 {
            "<s>"
        } else {
            shapes.get(i as usize).map_or("</s>", String::as_str)
        }
    };
    (0..spans.len())
        .map(|i| {
            let w = &lower[i];
            let chars: Vec<char> = w.chars().collect();
            let prefix = |n: usize| chars.iter().take(n).collect::<String>();
            let suffix = |n: usize| {
                chars[chars.len().saturating_sub(n)..]
                    .iter()
                    .collect::<String>()
            };
            let i = i as isize;
            [
                "bias".to_string(),
                format!("w={w}"),
                format!("shape={}", shapes[i as usize]),
                format!("p2={}", prefix(2)),
                format!("p3={}", prefix(3)),
                format!("s2={}", suffix(2)),
                format!("s3={}", suffix(3)),
                format!("w-1={}", at(i - 1)),
                format!("w+1={}", at(i + 1)),
                format!("w-2={}", at(i - 2)),
                format!("w+2={}", at(i + 2)),
                format!("w-1|w={}|{w}", at(i - 1)),
                format!("w|w+1={w}|{}", at(i + 1)),
                format!("w-2|w-1={}|{}", at(i - 2), at(i - 1)),
                format!("shape-1={}", shape_at(i - 1)),
                format!("shape+1={}", shape_at(i + 1)),
            ]
            .iter()
            .map(|f| fnv(f))
            .collect()
        })
        .collect()
}

/// BIO labels of the words of an annotated text: a word inside a span is `B-`
/// (first) or `I-` (later); words that straddle a span's edge are `O`.
fn bio(spans: &[(usize, usize)], annotations: &[(usize, usize, String)]) -> Vec<String> {
    let mut labels = vec!["O".to_string(); spans.len()];
    for (start, end, entity) in annotations {
        let mut first = true;
        for (i, &(s, e)) in spans.iter().enumerate() {
            if s >= *start && e <= *end {
                labels[i] = format!("{}-{entity}", if first { "B" } else { "I" });
                first = false;
            }
        }
    }
    labels
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    format_version: u32,
    training_hash: String,
    encoder: Option<String>,
    entities: Vec<String>,
    examples: usize,
    training_seconds: f64,
}

/// A trained tagger.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tagger {
    labels: Vec<String>,
    /// Feature hash → row of `sparse`.
    features: HashMap<u64, u32>,
    /// Row-major: one row of `labels.len()` weights per feature.
    sparse: Vec<f32>,
    /// Row-major: one row per dimension of the word vector.
    dense: Vec<f32>,
    dense_dim: usize,
    dense_weight: f32,
    encoder: Option<String>,
    training_hash: String,
    examples: usize,
    training_seconds: f64,
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

    fn scaled(&self, vector: &[f32]) -> Vec<f32> {
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        vector
            .iter()
            .map(|x| x / norm * self.dense_weight)
            .collect()
    }

    fn logits(&self, rows: &[u32], dense: Option<&[f32]>, out: &mut [f32]) {
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

    /// Whether this tagger needs word vectors from an encoder.
    pub fn needs_encoder(&self) -> bool {
        self.dense_dim > 0
    }

    pub fn encoder(&self) -> Option<&str> {
        self.encoder.as_deref()
    }

    pub fn training_hash(&self) -> &str {
        &self.training_hash
    }

    /// Entities it was trained to find.
    pub fn entities(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .labels
            .iter()
            .filter_map(|l| l.strip_prefix("B-").map(str::to_string))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Spans in `text`; `vectors` are its word vectors (one per [`words`] span),
    /// or empty when there is no encoder.
    pub fn tag(&self, text: &str, vectors: &[Vec<f32>]) -> Vec<TaggedSpan> {
        let spans = words(text);
        if spans.is_empty() {
            return Vec::new();
        }
        let features = word_features(text, &spans);
        let n = self.labels.len();
        let mut probabilities: Vec<Vec<f32>> = Vec::with_capacity(spans.len());
        for (j, feats) in features.iter().enumerate() {
            let rows: Vec<u32> = feats
                .iter()
                .filter_map(|f| self.features.get(f).copied())
                .collect();
            let dense = vectors
                .get(j)
                .filter(|v| v.len() == self.dense_dim && self.dense_dim > 0)
                .map(|v| self.scaled(v));
            let mut scores = vec![0f32; n];
            self.logits(&rows, dense.as_deref(), &mut scores);
            softmax(&mut scores);
            probabilities.push(scores);
        }
        let path = self.viterbi(&probabilities);
        let mut found = Vec::new();
        let mut j = 0;
        while j < path.len() {
            let label = &self.labels[path[j]];
            let Some(entity) = label.strip_prefix("B-") else {
                j += 1;
                continue;
            };
            let start = j;
            j += 1;
            while j < path.len() && self.labels[path[j]].strip_prefix("I-") == Some(entity) {
                j += 1;
            }
            let confidence =
                (start..j).map(|k| probabilities[k][path[k]]).sum::<f32>() / (j - start) as f32;
            found.push(TaggedSpan {
                entity: entity.to_string(),
                start: spans[start].0,
                end: spans[j - 1].1,
                confidence,
            });
        }
        found
    }

    /// The likeliest label sequence in which every `I-x` follows `B-x` or `I-x`.
    fn viterbi(&self, probabilities: &[Vec<f32>]) -> Vec<usize> {
        let n = self.labels.len();
        let allowed = |prev: Option<usize>, cur: usize| -> bool {
            match self.labels[cur].strip_prefix("I-") {
                None => true,
                Some(entity) => prev.is_some_and(|p| {
                    let l = &self.labels[p];
                    l.strip_prefix("B-") == Some(entity) || l.strip_prefix("I-") == Some(entity)
                }),
            }
        };
        let log = |p: f32| p.max(1e-12).ln();
        let mut score: Vec<f32> = (0..n)
            .map(|l| {
                if allowed(None, l) {
                    log(probabilities[0][l])
                } else {
                    f32::NEG_INFINITY
                }
            })
            .collect();
        let mut back: Vec<Vec<usize>> = Vec::with_capacity(probabilities.len());
        for p in &probabilities[1..] {
            let mut next = vec![f32::NEG_INFINITY; n];
            let mut from = vec![0usize; n];
            for cur in 0..n {
                for (prev, &before) in score.iter().enumerate() {
                    if before == f32::NEG_INFINITY || !allowed(Some(prev), cur) {
                        continue;
                    }
                    let s = before + log(p[cur]);
                    if s > next[cur] {
                        next[cur] = s;
                        from[cur] = prev;
                    }
                }
            }
            back.push(from);
            score = next;
        }
        let mut best = (0..n)
            .max_by(|&a, &b| score[a].total_cmp(&score[b]))
            .unwrap_or(0);
        let mut path = vec![best];
        for from in back.iter().rev() {
            best = from[best];
            path.push(best);
        }
        path.reverse();
        path
    }

    pub fn save(&self, path: &Path) -> Result<(), NluError> {
        let header = Header {
            format_version: FORMAT_VERSION,
            training_hash: self.training_hash.clone(),
            encoder: self.encoder.clone(),
            entities: self.entities(),
            examples: self.examples,
            training_seconds: self.training_seconds,
        };
        let body = bincode::serialize(self).map_err(|e| NluError::Corrupt {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let header = serde_json::to_vec(&header).expect("header serialises");
        crate::artifact::write(path, MAGIC, &header, &body)
    }

    /// Reads a tagger, checking its checksum and that every index it decodes
    /// with stays in bounds.
    pub fn load(path: &Path) -> Result<Tagger, NluError> {
        let corrupt = |reason: String| NluError::Corrupt {
            path: path.to_path_buf(),
            reason,
        };
        let artifact = crate::artifact::read(path, MAGIC, "an opsbot slot tagger")?;
        let header: Header = serde_json::from_slice(artifact.header())
            .map_err(|e| corrupt(format!("header: {e}")))?;
        if header.format_version != FORMAT_VERSION {
            return Err(corrupt(format!(
                "format version {} (this opsbot reads {FORMAT_VERSION}); run `opsbot train`",
                header.format_version
            )));
        }
        let tagger: Tagger = bincode::deserialize(artifact.body())
            .map_err(|e| corrupt(format!("the weights do not decode ({e})")))?;
        tagger.check().map_err(corrupt)?;
        Ok(tagger)
    }

    /// Shapes agree (so decoding never indexes out of bounds), labels are BIO
    /// labels, numbers are finite.
    fn check(&self) -> Result<(), String> {
        let n = self.labels.len();
        if !self.labels.iter().any(|l| l == "O") {
            return Err("its label set has no outside label `O`".into());
        }
        if let Some(bad) = self
            .labels
            .iter()
            .find(|l| *l != "O" && !l.starts_with("B-") && !l.starts_with("I-"))
        {
            return Err(format!("its label `{bad}` is not a BIO label"));
        }
        let rows = self.sparse.len() / n;
        if !self.sparse.len().is_multiple_of(n)
            || self.features.values().any(|&row| row as usize >= rows)
        {
            return Err("its feature table points outside its weights".into());
        }
        if Some(self.dense.len()) != self.dense_dim.checked_mul(n) {
            return Err("its word-vector weights do not match their dimension".into());
        }
        if !crate::artifact::all_finite(&self.sparse)
            || !crate::artifact::all_finite(&self.dense)
            || !self.dense_weight.is_finite()
        {
            return Err("it holds weights that are not finite numbers".into());
        }
        Ok(())
    }
}

fn softmax(scores: &mut [f32]) {
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

/// Exact-span precision, recall and F1 per entity, and micro-averaged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SlotScores {
    /// Entity → (true positives, false positives, false negatives).
    pub counts: std::collections::BTreeMap<String, (usize, usize, usize)>,
}

impl SlotScores {
    /// Adds one text's gold and predicted (start, end, entity) spans.
    pub fn add(&mut self, gold: &[(usize, usize, String)], predicted: &[(usize, usize, String)]) {
        for p in predicted {
            let entry = self.counts.entry(p.2.clone()).or_default();
            if gold.contains(p) {
                entry.0 += 1;
            } else {
                entry.1 += 1;
            }
        }
        for g in gold {
            if !predicted.contains(g) {
                self.counts.entry(g.2.clone()).or_default().2 += 1;
            }
        }
    }

    /// (precision, recall, F1) of one entity's counts.
    pub fn prf((tp, fp, fn_): (usize, usize, usize)) -> (f64, f64, f64) {
        let p = if tp + fp == 0 {
            0.0
        } else {
            tp as f64 / (tp + fp) as f64
        };
        let r = if tp + fn_ == 0 {
            0.0
        } else {
            tp as f64 / (tp + fn_) as f64
        };
        let f = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f)
    }

    pub fn micro(&self) -> (f64, f64, f64) {
        let total = self
            .counts
            .values()
            .fold((0, 0, 0), |a, c| (a.0 + c.0, a.1 + c.1, a.2 + c.2));
        SlotScores::prf(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(source: &str) -> TaggedText {
        let parsed = opsbot_spec::annotation::parse(source).unwrap();
        TaggedText {
            text: parsed.text,
            spans: parsed
                .spans
                .into_iter()
                .map(|s| (s.start, s.end, s.entity))
                .collect(),
        }
    }

    #[test]
    fn words_keep_hosts_versions_and_addresses_whole() {
        let text = "deploy v2.4.1-rc1 to web-12.prod.example.com, then ping @ada:example.org!";
        let found: Vec<&str> = words(text).iter().map(|&(s, e)| &text[s..e]).collect();
        assert_eq!(
            found,
            [
                "deploy",
                "v2.4.1-rc1",
                "to",
                "web-12.prod.example.com",
                "then",
                "ping",
                "@ada:example.org"
            ]
        );
        assert_eq!(shape("web-01"), "x-d");
        assert_eq!(shape("Paris"), "Xx");
    }

    #[test]
    fn learns_values_from_context_without_an_encoder() {
        let mut data = Vec::new();
        let cities = [
            "paris", "london", "berlin", "madrid", "rome", "oslo", "vienna", "prague",
        ];
        let days = ["monday", "friday", "sunday", "tuesday"];
        for (i, city) in cities.iter().enumerate() {
            let day = days[i % days.len()];
            data.push(example(&format!(
                "what is the weather in [{city}](city) on [{day}](day)"
            )));
            data.push(example(&format!("weather for [{city}](city) please")));
            data.push(example(&format!("will it rain in [{city}](city)")));
            data.push(example("tell me a joke"));
        }
        let vectors = vec![Vec::new(); data.len()];
        let tagger = Tagger::train(&data, &vectors, None, "hash", TaggerConfig::default());
        assert_eq!(tagger.entities(), ["city", "day"]);
        let text = "will it rain in lisbon";
        let found = tagger.tag(text, &[]);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(&text[found[0].start..found[0].end], "lisbon");
        assert_eq!(found[0].entity, "city");
        assert!(tagger.tag("tell me a joke", &[]).is_empty());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(TAGGER_FILE);
        tagger.save(&path).unwrap();
        let loaded = Tagger::load(&path).unwrap();
        assert_eq!(loaded.tag(text, &[]), found);
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, b"garbage").unwrap();
        assert!(Tagger::load(&path)
            .unwrap_err()
            .to_string()
            .contains("does not start like an opsbot slot tagger"));
        // Any one damaged byte is a clear error naming the file, never a panic
        // or a tagger that loads.
        for offset in (0..good.len()).step_by(good.len() / 200 + 1) {
            let mut bad = good.clone();
            bad[offset] ^= 0x5a;
            std::fs::write(&path, &bad).unwrap();
            let error = Tagger::load(&path)
                .err()
                .unwrap_or_else(|| panic!("byte {offset}"));
            assert!(error.to_string().contains(TAGGER_FILE), "{error}");
        }
    }

    #[test]
    fn decoding_never_starts_a_span_inside() {
        let data = vec![
            example("go to [new york](city) now"),
            example("go home now"),
        ];
        let tagger = Tagger::train(&data, &[vec![], vec![]], None, "h", TaggerConfig::default());
        let spans = tagger.tag("go to new york now", &[]);
        assert_eq!(spans.len(), 1);
        assert_eq!(spans[0].entity, "city");
        assert_eq!((spans[0].start, spans[0].end), (6, 14));
    }

    #[test]
    fn slot_scores_count_exact_spans() {
        let mut scores = SlotScores::default();
        let gold = vec![(0, 3, "a".to_string()), (4, 6, "b".to_string())];
        let predicted = vec![(0, 3, "a".to_string()), (4, 7, "b".to_string())];
        scores.add(&gold, &predicted);
        assert_eq!(scores.counts["a"], (1, 0, 0));
        assert_eq!(scores.counts["b"], (0, 1, 1));
        let (p, r, f) = scores.micro();
        assert!((p - 0.5).abs() < 1e-9 && (r - 0.5).abs() < 1e-9 && (f - 0.5).abs() < 1e-9);
    }
}
