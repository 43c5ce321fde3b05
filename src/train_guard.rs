//! What `opsbot train` refuses to write: a model that fails its own checks
//! (non-finite weights from a damaged embedding cache, say), or one whose
//! held-out accuracy collapsed against the model it would replace, unless the
//! operator says `--force`. A running bot reloads whatever model file appears,
//! so this is where a bad model is stopped.

use opsbot_nlu::ModelMeta;

/// Points of held-out accuracy a retrain may lose before it counts as a
/// collapse (data changes move it a little; a broken pipeline moves it a lot).
pub const COLLAPSE_POINTS: f64 = 0.25;

/// Why replacing `previous` by `new` looks like a collapse, if it does. Only
/// compares models that both held examples out.
pub fn collapse(previous: Option<&ModelMeta>, new: &ModelMeta) -> Option<String> {
    let previous = previous?;
    let (before, after) = (&previous.metrics, &new.metrics);
    if before.validation_examples == 0 || after.validation_examples == 0 {
        return None;
    }
    let drop = before.in_scope_accuracy - after.in_scope_accuracy;
    (drop > COLLAPSE_POINTS).then(|| {
        format!(
            "held-out accuracy fell from {:.1}% to {:.1}%, more than {:.0} points: the training data or the embedding cache may be damaged. The old model was kept; pass --force to write the new one anyway",
            before.in_scope_accuracy * 100.0,
            after.in_scope_accuracy * 100.0,
            COLLAPSE_POINTS * 100.0
        )
    })
}
