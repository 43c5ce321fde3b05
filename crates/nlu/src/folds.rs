//! Stratified splits, shared by training (held-out data) and evaluation
//! (k-fold), below both.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// Stratified k-fold split: each fold gets a fair share of every class.
pub fn stratified_folds(labels: &[String], folds: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut by_class: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, l) in labels.iter().enumerate() {
        by_class.entry(l).or_default().push(i);
    }
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut out = vec![Vec::new(); folds];
    let mut next = 0;
    for indices in by_class.values_mut() {
        indices.shuffle(&mut rng);
        for &i in indices.iter() {
            out[next % folds].push(i);
            next += 1;
        }
    }
    out
}
