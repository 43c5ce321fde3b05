//! How honest the model's confidence is: expected calibration error (ECE) and a
//! reliability table — of the messages read with about 80 % confidence, are
//! about 80 % read right?
//!
//! Confidence is the probability of the likeliest class (out of scope counts as
//! a class); "right" means that class is the message's label.

use serde::{Deserialize, Serialize};

/// Equal-width confidence bins of the reliability table.
pub const BINS: usize = 10;

/// One bin of the reliability table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Bin {
    /// Lower edge of the bin's confidence range (the upper is `low + 1/BINS`).
    pub low: f64,
    pub count: usize,
    pub mean_confidence: f64,
    /// Share of the bin's messages whose likeliest class was right.
    pub accuracy: f64,
}

/// Calibration of a set of readings.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Reliability {
    pub readings: usize,
    /// Σ over bins of (share of readings) × |accuracy − mean confidence|.
    pub ece: f64,
    /// Mean confidence minus accuracy over all readings: > 0 is over-confident.
    pub overconfidence: f64,
    /// Non-empty bins, lowest confidence first.
    pub bins: Vec<Bin>,
}

/// Reliability of readings given as (confidence of the likeliest class, was it right).
pub fn reliability(readings: impl IntoIterator<Item = (f32, bool)>) -> Reliability {
    let mut sums = [(0usize, 0.0f64, 0usize); BINS];
    let (mut total, mut confidence_sum, mut right_sum) = (0usize, 0.0f64, 0usize);
    for (confidence, right) in readings {
        let c = f64::from(confidence).clamp(0.0, 1.0);
        let bin = ((c * BINS as f64) as usize).min(BINS - 1);
        sums[bin].0 += 1;
        sums[bin].1 += c;
        sums[bin].2 += usize::from(right);
        total += 1;
        confidence_sum += c;
        right_sum += usize::from(right);
    }
    if total == 0 {
        return Reliability::default();
    }
    let mut ece = 0.0;
    let mut bins = Vec::new();
    for (i, &(count, confidence, right)) in sums.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let mean_confidence = confidence / count as f64;
        let accuracy = right as f64 / count as f64;
        ece += count as f64 / total as f64 * (accuracy - mean_confidence).abs();
        bins.push(Bin {
            low: i as f64 / BINS as f64,
            count,
            mean_confidence,
            accuracy,
        });
    }
    Reliability {
        readings: total,
        ece,
        overconfidence: (confidence_sum - right_sum as f64) / total as f64,
        bins,
    }
}

impl Reliability {
    /// The table as text lines, for `opsbot evaluate`.
    pub fn table(&self) -> Vec<String> {
        let mut lines = vec!["  confidence   messages   mean confidence   read right".to_string()];
        for bin in &self.bins {
            lines.push(format!(
                "  {:>4.0}–{:<4.0}% {:>9}   {:>14.1}%   {:>9.1}%",
                bin.low * 100.0,
                (bin.low + 1.0 / BINS as f64) * 100.0,
                bin.count,
                bin.mean_confidence * 100.0,
                bin.accuracy * 100.0
            ));
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibrated_reader_has_no_error_and_an_overconfident_one_has() {
        // 80 % confident and right 4 times in 5: honest.
        let honest = reliability((0..10).map(|i| (0.85, i % 5 != 0)));
        assert!(honest.ece < 0.051, "{honest:?}");
        assert_eq!(honest.bins.len(), 1);
        assert_eq!(honest.bins[0].count, 10);
        // 99 % confident and right half the time: ECE near 0.49.
        let bold = reliability((0..10).map(|i| (0.99, i % 2 == 0)));
        assert!((bold.ece - 0.49).abs() < 1e-6, "{bold:?}");
        assert!((bold.overconfidence - 0.49).abs() < 1e-6);
        let timid = reliability((0..10).map(|_| (0.55, true)));
        assert!(timid.overconfidence < 0.0);
    }

    #[test]
    fn bins_split_by_confidence_and_one_lands_in_the_top_bin() {
        let r = reliability([(0.05, false), (0.95, true), (1.0, true)]);
        assert_eq!(r.bins.len(), 2);
        assert_eq!(r.bins[1].count, 2);
        assert_eq!(r.table().len(), 3);
        assert_eq!(reliability([]).readings, 0);
    }
}
