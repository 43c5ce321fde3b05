//! A retrieval head beside the linear classifier and the prototypes: a
//! message's cosine similarity to the nearest labelled example of each class.
//! A class mean blurs an intent said in several ways ("restart nginx", "nginx
//! is stuck, bounce it") into one point between them; the nearest example
//! keeps each way. Training gives it a weight out of fold, or none, like the
//! prototypes (see `train`), and a model keeps the examples only then.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Neighbours {
    pub dimension: usize,
    classes: usize,
    /// Unit-length example embeddings, `examples × dimension`.
    embeddings: Vec<f32>,
    /// Each example's class index, in the model's class order.
    labels: Vec<u32>,
    /// Similarities are multiplied by this and added to the logits.
    pub weight: f32,
}

impl Neighbours {
    /// The labelled `examples` (embedding, class index) to search.
    pub fn fit<'a>(
        classes: usize,
        dimension: usize,
        examples: impl IntoIterator<Item = (&'a [f32], usize)>,
    ) -> Neighbours {
        let mut embeddings = Vec::new();
        let mut labels = Vec::new();
        for (embedding, label) in examples {
            if embedding.len() != dimension || label >= classes {
                continue;
            }
            let norm = embedding.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm == 0.0 {
                continue;
            }
            embeddings.extend(embedding.iter().map(|v| v / norm));
            labels.push(label as u32);
        }
        Neighbours {
            dimension,
            classes,
            embeddings,
            labels,
            weight: 0.0,
        }
    }

    pub fn examples(&self) -> usize {
        self.labels.len()
    }

    /// For each class, the cosine similarity of a unit-length embedding to
    /// that class's nearest example (0 for a class without examples), into
    /// `out` (one per class).
    pub fn similarities_into(&self, embedding: &[f32], out: &mut [f32]) {
        out.iter_mut().for_each(|o| *o = f32::NEG_INFINITY);
        let rows = self.embeddings.chunks_exact(self.dimension.max(1));
        for (row, &label) in rows.zip(&self.labels) {
            let cosine: f32 = row.iter().zip(embedding).map(|(a, b)| a * b).sum();
            if let Some(best) = out.get_mut(label as usize) {
                *best = best.max(cosine);
            }
        }
        out.iter_mut()
            .filter(|o| **o == f32::NEG_INFINITY)
            .for_each(|o| *o = 0.0);
    }

    /// Adds the weighted similarities to `logits`.
    pub fn add_to(&self, embedding: &[f32], logits: &mut [f32]) {
        if self.weight == 0.0 {
            return;
        }
        let mut nearest = vec![0.0; logits.len()];
        self.similarities_into(embedding, &mut nearest);
        for (l, s) in logits.iter_mut().zip(&nearest) {
            *l += self.weight * s;
        }
    }

    pub fn check(&self, classes: usize) -> Result<(), String> {
        let fits = self.dimension > 0
            && self.classes == classes
            && self.embeddings.len() == self.labels.len() * self.dimension
            && self.labels.iter().all(|&l| (l as usize) < classes)
            && crate::artifact::all_finite(&self.embeddings)
            && self.weight.is_finite();
        if !fits {
            return Err("its nearest-example head does not fit its classes".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_class_is_as_near_as_its_nearest_example() {
        // Class 0 is said two ways; its mean lies between them.
        let (a1, a2, b) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]);
        let mut n = Neighbours::fit(3, 3, [(&a1[..], 0), (&a2[..], 0), (&b[..], 1)]);
        assert_eq!(n.examples(), 3);
        let like_a2 = [0.1, 0.9, 0.3];
        let norm = like_a2.iter().map(|v: &f32| v * v).sum::<f32>().sqrt();
        let like_a2 = like_a2.map(|v| v / norm);
        let mut s = [9.0; 3];
        n.similarities_into(&like_a2, &mut s);
        assert!((s[0] - like_a2[1]).abs() < 1e-6, "{s:?}");
        assert!((s[1] - like_a2[2]).abs() < 1e-6, "{s:?}");
        assert_eq!(s[2], 0.0, "a class without examples");
        let mut logits = [0.0; 3];
        n.add_to(&like_a2, &mut logits);
        assert_eq!(logits, [0.0; 3], "weight 0 adds nothing");
        n.weight = 10.0;
        n.add_to(&like_a2, &mut logits);
        assert!(logits[0] > logits[1]);
        assert!(n.check(3).is_ok());
        assert!(n.check(2).is_err());
    }

    #[test]
    fn examples_that_do_not_fit_are_left_out() {
        let (good, short, zero) = ([0.0, 2.0], [1.0], [0.0, 0.0]);
        let n = Neighbours::fit(
            2,
            2,
            [
                (&good[..], 1),
                (&short[..], 0),
                (&zero[..], 0),
                (&good[..], 7),
            ],
        );
        assert_eq!(n.examples(), 1);
        let mut s = [0.0; 2];
        n.similarities_into(&[0.0, 1.0], &mut s);
        assert_eq!(s, [0.0, 1.0], "unit length after fitting");
    }
}
