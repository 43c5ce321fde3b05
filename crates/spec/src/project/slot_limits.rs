//! A slot's `min`, `max`, `direction` and `within`, checked against its
//! entity's type: each applies to some types only, and a mistake names the
//! field and what was expected.

use super::checker::Checker;
use super::source::*;
use super::*;
use crate::raw::RawBound;
use crate::types::{parse_duration, Direction};

/// Where the slot's limits are written, for the diagnostics about them.
struct At<'f> {
    file: &'f SourceFile,
    slot_path: &'f str,
    slot_name: &'f str,
}

impl At<'_> {
    fn field(&self, field: &str) -> Location {
        self.file
            .index
            .locate(&format!("{}.{field}", self.slot_path))
    }
}

impl Checker<'_> {
    /// The slot's limits (none when its entity is unknown: that is reported
    /// once, as an unknown entity).
    pub(super) fn check_limits(
        &mut self,
        file: &SourceFile,
        slot_path: &str,
        slot_name: &str,
        raw_slot: &raw::RawSlot,
    ) -> Limits {
        let mut limits = Limits::default();
        let Some(value_type) = self.entities.get(&raw_slot.entity).map(Entity::value_type) else {
            return limits;
        };
        let at = At {
            file,
            slot_path,
            slot_name,
        };
        self.check_bounds(&at, raw_slot, value_type, &mut limits);
        self.check_time_limits(&at, raw_slot, value_type, &mut limits);
        limits
    }

    /// A field that applies to other types than the slot's.
    fn misplaced(
        &mut self,
        at: &At,
        raw_slot: &raw::RawSlot,
        value_type: Option<ValueType>,
        field: &str,
        applies_to: &str,
    ) {
        let type_name = value_type.map_or("a list of values".to_string(), |t| {
            format!("of type {}", t.name())
        });
        self.diagnostics.push(
            at.field(field),
            format!("`{field}` of slot `{}` applies to {applies_to} slots; its entity `{}` is {type_name}", at.slot_name, raw_slot.entity),
        );
    }

    /// `min` and `max` of a number or duration, min ≤ max.
    fn check_bounds(
        &mut self,
        at: &At,
        raw_slot: &raw::RawSlot,
        value_type: Option<ValueType>,
        limits: &mut Limits,
    ) {
        let slot_name = at.slot_name;
        let numeric = matches!(
            value_type,
            Some(ValueType::Integer | ValueType::Number | ValueType::Duration)
        );
        for (field, raw) in [("min", &raw_slot.min), ("max", &raw_slot.max)] {
            let Some(raw) = raw else { continue };
            if !numeric {
                self.misplaced(
                    at,
                    raw_slot,
                    value_type,
                    field,
                    "integer, number and duration",
                );
                continue;
            }
            let bound = match (value_type, raw) {
                (Some(ValueType::Duration), RawBound::Text(t)) => {
                    parse_duration(t).map(|s| s as f64)
                }
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
                _ => self.diagnostics.push(
                    at.field(field),
                    format!("`{field}` of slot `{slot_name}` is not {expected}"),
                ),
            }
        }
        if let (Some(min), Some(max)) = (limits.min, limits.max) {
            if min > max {
                self.diagnostics.push(
                    at.field("min"),
                    format!("`min` of slot `{slot_name}` is above its `max`; expected min ≤ max"),
                );
            }
        }
    }

    /// `direction` and `within` of a datetime.
    fn check_time_limits(
        &mut self,
        at: &At,
        raw_slot: &raw::RawSlot,
        value_type: Option<ValueType>,
        limits: &mut Limits,
    ) {
        let is_time = value_type == Some(ValueType::DateTime);
        if let Some(direction) = &raw_slot.direction {
            match (is_time, Direction::from_name(direction.trim())) {
                (false, _) => self.misplaced(at, raw_slot, value_type, "direction", "datetime"),
                (true, Some(d)) => limits.direction = d,
                (true, None) => self.diagnostics.push(
                    at.field("direction"),
                    format!("`{direction}` is not a direction; expected past, future or any"),
                ),
            }
        }
        if let Some(within) = &raw_slot.within {
            match (is_time, parse_duration(within)) {
                (false, _) => self.misplaced(at, raw_slot, value_type, "within", "datetime"),
                (true, Some(s)) if s > 0 => limits.within = Some(s),
                (true, _) => self.diagnostics.push(
                    at.field("within"),
                    format!("`within` of slot `{}` is not a duration above zero; expected e.g. `30 days`", at.slot_name),
                ),
            }
        }
    }
}
