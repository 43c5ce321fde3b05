//! A nearest-prototype head beside the linear classifier: each class's mean
//! sentence embedding, and a message's cosine similarity to each. With a handful
//! of examples per intent the mean of their embeddings is a better guess at the
//! intent than weights fitted to them; with many, the linear head leads and
//! training gives the prototypes a small weight or none (see `train`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Prototypes {
    pub dimension: usize,
    /// Unit-length class means, `classes × dimension`, in the model's class order.
    centroids: Vec<f32>,
    /// Cosine similarities are multiplied by this and added to the logits.
    pub weight: f32,
}

impl Prototypes {
    /// Class means of `embeddings` (one per example, labelled by class index).
    pub fn fit<'a>(
        classes: usize,
        dimension: usize,
        examples: impl IntoIterator<Item = (&'a [f32], usize)>,
    ) -> Prototypes {
        let mut centroids = vec![0.0f32; classes * dimension];
        for (embedding, label) in examples {
            let row = &mut centroids[label * dimension..(label + 1) * dimension];
            for (c, v) in row.iter_mut().zip(embedding) {
                *c += v;
            }
        }
        for row in centroids.chunks_mut(dimension.max(1)) {
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt();
            if norm > 0.0 {
                row.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Prototypes {
            dimension,
            centroids,
            weight: 0.0,
        }
    }

    pub fn classes(&self) -> usize {
        self.centroids.len() / self.dimension.max(1)
    }

    /// Cosine similarity of a unit-length embedding to each class mean, in order.
    fn cosines<'a>(&'a self, embedding: &'a [f32]) -> impl Iterator<Item = f32> + 'a {
        self.centroids
            .chunks(self.dimension.max(1))
            .map(move |row| row.iter().zip(embedding).map(|(a, b)| a * b).sum())
    }

    /// The similarities into `out` (one per class).
    pub fn similarities_into(&self, embedding: &[f32], out: &mut [f32]) {
        for (o, cosine) in out.iter_mut().zip(self.cosines(embedding)) {
            *o = cosine;
        }
    }

    /// Adds the weighted similarities to `logits`.
    pub fn add_to(&self, embedding: &[f32], logits: &mut [f32]) {
        if self.weight == 0.0 {
            return;
        }
        // In place: this runs for every message.
        for (l, cosine) in logits.iter_mut().zip(self.cosines(embedding)) {
            *l += self.weight * cosine;
        }
    }

    pub fn check(&self, classes: usize) -> Result<(), String> {
        if self.dimension == 0
            || self.centroids.len() != classes * self.dimension
            || !crate::artifact::all_finite(&self.centroids)
            || !self.weight.is_finite()
        {
            return Err("its class prototypes do not fit its classes".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_closest_to_its_class_mean() {
        let a = [1.0, 0.0];
        let b = [0.0, 1.0];
        let near_a = [0.8, 0.6];
        let mut p = Prototypes::fit(2, 2, [(&a[..], 0), (&near_a[..], 0), (&b[..], 1)]);
        let mut s = [0.0; 2];
        p.similarities_into(&near_a, &mut s);
        assert!(s[0] > s[1], "{s:?}");
        let mut logits = [0.0, 0.0];
        p.add_to(&near_a, &mut logits);
        assert_eq!(logits, [0.0, 0.0], "weight 0 adds nothing");
        p.weight = 10.0;
        p.add_to(&near_a, &mut logits);
        assert!(logits[0] > logits[1]);
        assert!(p.check(2).is_ok());
        assert!(p.check(3).is_err());
    }
}
