//! A slot's `min`, `max`, `direction` and `within`, checked against its
//! entity's type: each applies to some types only, and a mistake names the
//! field and what was expected.

use super::*;
use crate::raw::RawBound;
use crate::types::{parse_duration, Direction};

pub(super) fn check_limits(
    file: &SourceFile,
    slot_path: &str,
    slot_name: &str,
    raw_slot: &raw::RawSlot,
    entity: Option<&Entity>,
    diagnostics: &mut Diagnostics,
) -> Limits {
    let mut limits = Limits::default();
    let Some(entity) = entity else {
        return limits;
    };
    let value_type = entity.value_type();
    let type_name = value_type.map_or("a list of values".to_string(), |t| {
        format!("of type {}", t.name())
    });
    let misplaced = |diagnostics: &mut Diagnostics, field: &str, applies_to: &str| {
        diagnostics.push(
            file.index.locate(&format!("{slot_path}.{field}")),
            format!("`{field}` of slot `{slot_name}` applies to {applies_to} slots; its entity `{}` is {type_name}", raw_slot.entity),
        );
    };
    let numeric = matches!(
        value_type,
        Some(ValueType::Integer | ValueType::Number | ValueType::Duration)
    );
    for (field, raw) in [("min", &raw_slot.min), ("max", &raw_slot.max)] {
        let Some(raw) = raw else { continue };
        if !numeric {
            misplaced(diagnostics, field, "integer, number and duration");
            continue;
        }
        let bound = match (value_type, raw) {
            (Some(ValueType::Duration), RawBound::Text(t)) => parse_duration(t).map(|s| s as f64),
            (Some(ValueType::Duration), RawBound::Number(_)) => None,
            (_, RawBound::Number(n)) => Some(*n),
            (_, RawBound::Text(t)) => t.trim().parse::<f64>().ok(),
        };
        let expected = if value_type == Some(ValueType::Duration) {
            "a duration such as `1m` or `2 hours`"
        } else {
            "a number"
        };
        match bound {
            Some(n) if n.is_finite() => {
                if field == "min" {
                    limits.min = Some(n);
                } else {
                    limits.max = Some(n);
                }
            }
            _ => diagnostics.push(
                file.index.locate(&format!("{slot_path}.{field}")),
                format!("`{field}` of slot `{slot_name}` is not {expected}"),
            ),
        }
    }
    if let (Some(min), Some(max)) = (limits.min, limits.max) {
        if min > max {
            diagnostics.push(
                file.index.locate(&format!("{slot_path}.min")),
                format!("`min` of slot `{slot_name}` is above its `max`; expected min ≤ max"),
            );
        }
    }
    let is_time = value_type == Some(ValueType::DateTime);
    if let Some(direction) = &raw_slot.direction {
        match (is_time, Direction::from_name(direction.trim())) {
            (false, _) => misplaced(diagnostics, "direction", "datetime"),
            (true, Some(d)) => limits.direction = d,
            (true, None) => diagnostics.push(
                file.index.locate(&format!("{slot_path}.direction")),
                format!("`{direction}` is not a direction; expected past, future or any"),
            ),
        }
    }
    if let Some(within) = &raw_slot.within {
        match (is_time, parse_duration(within)) {
            (false, _) => misplaced(diagnostics, "within", "datetime"),
            (true, Some(s)) if s > 0 => limits.within = Some(s),
            (true, _) => diagnostics.push(
                file.index.locate(&format!("{slot_path}.within")),
                format!("`within` of slot `{slot_name}` is not a duration above zero; expected e.g. `30 days`"),
            ),
        }
    }
    limits
}
