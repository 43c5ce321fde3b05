//! Calibration on synthetic readings: the refusal target, the question band,
//! and when each head gets a weight.

use super::*;

fn classes() -> Vec<String> {
    vec!["a".into(), "b".into(), OUT_OF_SCOPE.into()]
}

/// Readings that are right with a margin that grows with `i`.
fn readings(n: usize) -> Vec<Reading> {
    (0..n)
        .map(|i| {
            let label = i % 2;
            let margin = 0.2 + (i as f32 / n as f32) * 4.0;
            let mut logits = vec![0.0; 3];
            logits[label] = margin;
            Reading {
                logits,
                similarities: None,
                nearest: None,
                label,
            }
        })
        .collect()
}

#[test]
fn a_stated_refusal_share_is_kept_on_the_readings() {
    let readings = readings(200);
    for share in [0.01f32, 0.05, 0.2] {
        let c = calibrate(
            &readings,
            &classes(),
            (&[0.0], &[0.0]),
            ThresholdTarget::RefuseRightAtMost(share),
            "test",
        );
        assert!(
            c.metrics.refused_right <= share as f64 + 1e-9,
            "{share}: {}",
            c.metrics.refused_right
        );
        assert!(c.calibration.threshold_rule.contains("refuses at most"));
    }
    let loose = calibrate(
        &readings,
        &classes(),
        (&[0.0], &[0.0]),
        ThresholdTarget::RefuseRightAtMost(0.01),
        "t",
    );
    let strict = calibrate(
        &readings,
        &classes(),
        (&[0.0], &[0.0]),
        ThresholdTarget::RefuseRightAtMost(0.2),
        "t",
    );
    assert!(strict.calibration.threshold > loose.calibration.threshold);
}

/// 60 readings of two classes: the logits favour the label by
/// `logit_margin`; the prototype similarities favour the label (`true`)
/// or the other class; the nearest-example ones say nothing, or know the
/// class where `nearest_right`.
fn head_readings(logit_margin: f32, similarities_right: bool, nearest_right: bool) -> Vec<Reading> {
    (0..60)
        .map(|i| {
            let label = i % 2;
            let mut logits = vec![0.0; 3];
            logits[label] = logit_margin;
            let mut similarities = vec![0.1; 3];
            similarities[if similarities_right { label } else { 1 - label }] = 0.6;
            let mut nearest = vec![0.5; 3];
            if nearest_right {
                nearest[label] = 0.9;
            }
            Reading {
                logits,
                similarities: Some(similarities),
                nearest: Some(nearest),
                label,
            }
        })
        .collect()
}

fn prototype_readings(logit_margin: f32, similarities_right: bool) -> Vec<Reading> {
    head_readings(logit_margin, similarities_right, false)
}

fn head_weights(readings: &[Reading]) -> (HeadWeights, usize) {
    let weights = [0.0, 5.0, 20.0];
    let c = calibrate(
        readings,
        &classes(),
        (&weights, &weights),
        ThresholdTarget::Balanced,
        "t",
    );
    (c.heads, c.metrics.reliability.readings)
}

fn prototype_weight(readings: &[Reading]) -> (f32, usize) {
    let (heads, readings) = head_weights(readings);
    (heads.prototype, readings)
}

#[test]
fn the_question_band_reaches_down_while_its_option_is_right_more_often_than_not() {
    let scored = |best_p: f32, right: bool, oos_first: bool| Scored {
        oos_first,
        label: 0,
        in_scope_right: right,
        best_p,
        top_p: best_p,
        top_right: right,
    };
    let mut readings: Vec<Scored> = [0.55, 0.5, 0.45, 0.4, 0.35]
        .iter()
        .map(|&p| scored(p, true, false))
        .chain(
            [0.3, 0.25, 0.2, 0.15, 0.1, 0.05]
                .iter()
                .map(|&p| scored(p, false, false)),
        )
        .collect();
    // Above the threshold, or out of scope likeliest: never asked.
    readings.push(scored(0.9, true, false));
    readings.push(scored(0.5, false, true));
    let band = ask_band(&readings, 0.6, |s| s.in_scope_right, |_| false, 1).unwrap();
    // 5 right of 10 down to 0.1; the 11th (0.05) would make it 5 of 11.
    assert_eq!((band.from, band.asked, band.right), (0.1, 10, 5));
    // Mostly wrong from the top: no band at all.
    let wrong: Vec<Scored> = (0..8)
        .map(|i| scored(0.5 - i as f32 * 0.05, i == 7, false))
        .collect();
    assert!(ask_band(&wrong, 0.6, |s| s.in_scope_right, |_| false, 1).is_none());
    // Out-of-scope readings stop it early: here one of 20 may be asked.
    let oos = |s: &Scored| s.best_p == 0.3 || s.best_p == 0.25;
    let band = ask_band(&readings, 0.6, |s| s.in_scope_right, oos, 20).unwrap();
    assert_eq!((band.from, band.asked, band.right), (0.3, 6, 5));
    // Too few readings to tell.
    assert!(ask_band(&readings[..4], 0.6, |s| s.in_scope_right, |_| false, 1).is_none());
}

#[test]
fn prototypes_get_weight_only_when_they_help() {
    // The logits say nothing; the similarities know the class.
    let (weight, readings) = prototype_weight(&prototype_readings(0.0, true));
    assert!(weight > 0.0);
    assert_eq!(readings, 60);
    // Misleading similarities: left out.
    assert_eq!(prototype_weight(&prototype_readings(3.0, false)).0, 0.0);
}

#[test]
fn the_nearest_example_head_gets_weight_only_when_it_helps() {
    // Uninformative nearest examples: no weight.
    assert_eq!(
        head_weights(&head_readings(3.0, true, false)).0.neighbour,
        0.0
    );
    // The logits and the prototypes mislead; the nearest examples know.
    let (heads, _) = head_weights(&head_readings(0.0, false, true));
    assert!(heads.neighbour > 0.0, "{heads:?}");
    assert_eq!(heads.prototype, 0.0, "{heads:?}");
}
