//! Decoding: each word's label probabilities, then the likeliest label sequence
//! under the BIO constraint (Viterbi), read back as spans.

use super::features::{word_features, words};
use super::training::softmax;
use super::{TaggedSpan, Tagger};

impl Tagger {
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
}
