//! Limits on a slot's value, checked after it resolves: a range for numbers
//! (`min: 1`, `max: 9`), a shortest and longest duration (`min: 1m`,
//! `max: 1h`), and for times a side of now (`direction: past`) and a reach
//! (`within: 30 days`). Every refusal names the limit it broke.

use chrono::{DateTime, Duration};

use crate::types::{
    display_time, duration_words, parse_duration, time_distance, wrong_side, Direction, TimeFrame,
    ValueType,
};

/// A slot's limits; all empty by default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// Integers and numbers: the value; durations: seconds.
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Times: which side of now.
    pub direction: Direction,
    /// Times: how far from now at most, in seconds.
    pub within: Option<u64>,
}

impl Limits {
    pub fn is_empty(&self) -> bool {
        *self == Limits::default()
    }

    /// Whether a canonical value of the slot's type keeps the limits; the
    /// error says which limit, with the value as the user will recognise it.
    pub fn check(
        &self,
        slot: &str,
        value_type: Option<ValueType>,
        canonical: &str,
        frame: &TimeFrame,
    ) -> Result<(), String> {
        match value_type {
            Some(ValueType::Integer | ValueType::Number) => {
                let Ok(n) = canonical.parse::<f64>() else {
                    return Ok(());
                };
                self.range(slot, n, canonical, value_type)
            }
            Some(ValueType::Duration) => match parse_duration(canonical) {
                Some(seconds) => {
                    self.range(slot, seconds as f64, &duration_words(seconds), value_type)
                }
                None => Ok(()),
            },
            Some(ValueType::DateTime) => {
                let Ok(t) = DateTime::parse_from_rfc3339(canonical) else {
                    return Ok(());
                };
                let t = t.with_timezone(&chrono::Utc);
                let shown = || {
                    format!(
                        "{} ({})",
                        display_time(t, frame.zone),
                        time_distance(t, frame.now)
                    )
                };
                if let Some(side) = wrong_side(t, &frame.toward(self.direction)) {
                    return Err(format!(
                        "{} is {side}, and {slot} must be in the {}",
                        shown(),
                        self.direction
                    ));
                }
                match self.within {
                    Some(reach) if (t - frame.now).abs() > Duration::seconds(reach as i64) => {
                        let side = match self.direction {
                            Direction::Past => "back",
                            Direction::Future => "ahead",
                            Direction::Any => "from now",
                        };
                        Err(format!(
                            "{} is too far: {slot} goes at most {} {side}",
                            shown(),
                            duration_words(reach)
                        ))
                    }
                    _ => Ok(()),
                }
            }
            _ => Ok(()),
        }
    }

    /// The limits in words, for "which ones are there?": "count must be from
    /// 1 to 20", "point must be in the past, at most 7 days back".
    pub fn describe(&self, slot: &str, value_type: Option<ValueType>) -> Option<String> {
        if let Some(range) = self.bounds(value_type) {
            return Some(format!("{slot} must be {range}"));
        }
        let side = match self.direction {
            Direction::Past => Some(("in the past", "back")),
            Direction::Future => Some(("in the future", "ahead")),
            Direction::Any => None,
        };
        match (side, self.within) {
            (Some((side, _)), None) => Some(format!("{slot} must be {side}")),
            (Some((side, way)), Some(reach)) => Some(format!(
                "{slot} must be {side}, at most {} {way}",
                duration_words(reach)
            )),
            (None, Some(reach)) => Some(format!(
                "{slot} must be at most {} from now",
                duration_words(reach)
            )),
            (None, None) => None,
        }
    }

    /// "from 1 to 9", "at least 1 minute", "at most 20"; `None` unbounded.
    fn bounds(&self, value_type: Option<ValueType>) -> Option<String> {
        let show = |n: f64| match value_type {
            Some(ValueType::Duration) => duration_words(n as u64),
            _ => format_bound(n),
        };
        match (self.min, self.max) {
            (Some(min), Some(max)) => Some(format!("from {} to {}", show(min), show(max))),
            (Some(min), None) => Some(format!("at least {}", show(min))),
            (None, Some(max)) => Some(format!("at most {}", show(max))),
            (None, None) => None,
        }
    }

    fn range(
        &self,
        slot: &str,
        n: f64,
        shown: &str,
        value_type: Option<ValueType>,
    ) -> Result<(), String> {
        let Some(bounds) = self.bounds(value_type) else {
            return Ok(());
        };
        let low = self.min.is_some_and(|min| n < min);
        let high = self.max.is_some_and(|max| n > max);
        match (low, high) {
            (true, _) => Err(format!("{shown} is too low: {slot} must be {bounds}")),
            (_, true) => Err(format!("{shown} is too high: {slot} must be {bounds}")),
            _ => Ok(()),
        }
    }
}

fn format_bound(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn frame() -> TimeFrame {
        TimeFrame::utc(Utc.with_ymd_and_hms(2026, 11, 24, 15, 20, 0).unwrap())
    }

    #[test]
    fn numbers_keep_their_range() {
        let limits = Limits {
            min: Some(1.0),
            max: Some(9.0),
            ..Limits::default()
        };
        let check = |v: &str| limits.check("level", Some(ValueType::Integer), v, &frame());
        assert_eq!(check("5"), Ok(()));
        assert_eq!(
            check("42"),
            Err("42 is too high: level must be from 1 to 9".into())
        );
        assert_eq!(
            check("0"),
            Err("0 is too low: level must be from 1 to 9".into())
        );
    }

    #[test]
    fn durations_keep_their_minimum_and_maximum() {
        let limits = Limits {
            min: Some(60.0),
            ..Limits::default()
        };
        let check = |v: &str| limits.check("older_than", Some(ValueType::Duration), v, &frame());
        assert_eq!(
            check("0s"),
            Err("0 seconds is too low: older_than must be at least 1 minute".into())
        );
        assert_eq!(check("10m"), Ok(()));
    }

    #[test]
    fn times_keep_their_side_and_reach() {
        let limits = Limits {
            direction: Direction::Past,
            within: Some(7 * 86_400),
            ..Limits::default()
        };
        let check = |v: &str| limits.check("point", Some(ValueType::DateTime), v, &frame());
        assert_eq!(check("2026-11-24T09:00:00Z"), Ok(()));
        assert_eq!(
            check("2026-11-25T09:00:00Z"),
            Err("Wed 25 Nov 2026 09:00 UTC (in 17 hours 40 minutes) is in the future, and point must be in the past".into())
        );
        assert_eq!(
            check("2026-11-01T09:00:00Z"),
            Err("Sun 1 Nov 2026 09:00 UTC (23 days 6 hours ago) is too far: point goes at most 7 days back".into())
        );
    }
}
