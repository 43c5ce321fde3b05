//! Filling a request's slots: a value checked by its slot (entity, zone,
//! limits), the message's values assigned to the dialog's slots, and values
//! carried over from the person's finished requests. Beneath every phase that
//! takes values (starting, answering, confirming).

use super::*;
use opsbot_spec::MatchSource;
use opsbot_spec::TimeFrame;

/// What [`Step::fill_from_entities`] did with a message's values.
pub(super) struct Filled {
    /// The slots it set.
    pub slots: BTreeSet<String>,
    /// Why values were refused.
    pub errors: Vec<String>,
    /// The slots whose value was refused.
    pub rejected: BTreeSet<String>,
    /// A slot given more than one value ("orders and billing"): all of them.
    pub several: Option<(String, Vec<String>)>,
    /// The byte spans of the message it used, refused or named back.
    pub spans: Vec<(usize, usize)>,
}

impl<'a> Step<'a> {
    /// A candidate checked by the slot's entity, resolved in the speaker's
    /// zone toward the slot's direction, and held to the slot's limits.
    pub(super) fn slot_value(&self, slot: &Slot, candidate: &str) -> Result<String, String> {
        self.slot_value_as(slot, candidate, true)
    }

    /// [`Step::slot_value`], typo-tolerant (`fuzzy`: a person's words) or
    /// exact (a program's values, see `given`).
    pub(super) fn slot_value_as(
        &self,
        slot: &Slot,
        candidate: &str,
        fuzzy: bool,
    ) -> Result<String, String> {
        let Some(entity) = self.project.entities.get(&slot.entity) else {
            return Err(format!("slot {} has no entity {}", slot.name, slot.entity));
        };
        let frame = TimeFrame {
            now: self.ctx.now,
            zone: self.ctx.time_zone,
            direction: slot.limits.direction,
        };
        let validated = if fuzzy {
            entity.validate_in(candidate, &frame)
        } else {
            entity.validate_exact_in(candidate, &frame)
        };
        let value = validated.map_err(|refused| {
            // A refusal says what the slot takes when its limits say it
            // ("“-300” is negative … (ttl must be from 60 to 86400)").
            match slot.limits.describe(&slot.name, entity.value_type()) {
                Some(limits) if !refused.contains(&limits) => format!("{refused} ({limits})"),
                _ => refused,
            }
        })?;
        slot.limits
            .check(&slot.name, entity.value_type(), &value, &frame)?;
        Ok(value)
    }

    /// Spans of matches inside a time or a duration this dialog has no slot
    /// for ("9" in "tomorrow at 9", "2" in "for 2 hours"): those digits
    /// belong to the time, which is named back unused, never to a number
    /// slot — unless the dialog's own examples put the time's other words
    /// around their values ("by 14 days" for a number of days).
    fn enclosed_by_unused_time(
        &self,
        dialog: &Dialog,
        u: &Understanding,
    ) -> BTreeSet<(usize, usize)> {
        use opsbot_spec::ValueType;
        let type_of = |entity: &str| {
            self.project
                .entities
                .get(entity)
                .and_then(|e| e.value_type())
        };
        let has_slot_of = |wanted: ValueType| {
            dialog
                .slots
                .iter()
                .any(|s| type_of(&s.entity) == Some(wanted))
        };
        let mut outer: Vec<(usize, usize)> = Vec::new();
        for kind in [ValueType::DateTime, ValueType::Duration] {
            if !has_slot_of(kind) {
                outer.extend(kind.find(&u.text, self.ctx.now));
                outer.extend(
                    u.entities
                        .iter()
                        .filter(|m| type_of(&m.entity) == Some(kind))
                        .map(|m| (m.start, m.end)),
                );
            }
        }
        if outer.is_empty() {
            return BTreeSet::new();
        }
        let wording = self.wording(dialog);
        let mut enclosed = BTreeSet::new();
        for m in &u.entities {
            let inside = outer.iter().any(|&(start, end)| {
                let strictly = start <= m.start && m.end <= end && end - start > m.end - m.start;
                if !strictly {
                    return false;
                }
                let rest = match (u.text.get(start..m.start), u.text.get(m.end..end)) {
                    (Some(before), Some(after)) => format!("{before} {after}"),
                    _ => return false,
                };
                rest.split_whitespace()
                    .any(|w| !wording.contains(&w.to_lowercase()))
            });
            if inside {
                enclosed.insert((m.start, m.end));
            }
        }
        enclosed
    }

    /// Assigns the message's entities to the dialog's slots; the slot being asked
    /// for gets the first value of its entity. Returns the slots set, the
    /// reasons any value was rejected, and the slots whose value was.
    pub(super) fn fill_from_entities(
        &self,
        dialog: &Dialog,
        request: &mut Request,
        u: &Understanding,
        asking: Option<&str>,
    ) -> Filled {
        let entities = &u.entities;
        let mut filled = BTreeSet::new();
        let mut errors = Vec::new();
        let mut rejected = BTreeSet::new();
        let mut several: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Matches of different entities may overlap ("14 days" is a duration,
        // "14" a number of days); the dialog decides. Surer and longer first;
        // a match overlapping one already used is skipped.
        let enclosed = self.enclosed_by_unused_time(dialog, u);
        let mut ordered: Vec<&EntityMatch> = entities
            .iter()
            .filter(|m| dialog.slots.iter().any(|s| s.entity == m.entity))
            .filter(|m| !enclosed.contains(&(m.start, m.end)))
            .collect();
        // Of two readings of the same words, the one the question asked
        // for wins: "shop.example.org" answering "what should it point to?"
        // is that target, not another name.
        let asked_entity = asking
            .and_then(|name| dialog.slot(name))
            .map(|slot| slot.entity.as_str());
        let not_asked = |m: &EntityMatch| Some(m.entity.as_str()) != asked_entity;
        ordered.sort_by(|a, b| {
            a.source
                .rank()
                .cmp(&b.source.rank())
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.start.cmp(&b.start))
                .then(not_asked(a).cmp(&not_asked(b)))
        });
        let mut used: Vec<(usize, usize)> = Vec::new();
        ordered.retain(|m| {
            let free = used.iter().all(|&(s, e)| m.end <= s || m.start >= e);
            if free {
                used.push((m.start, m.end));
            }
            free
        });
        ordered.sort_by_key(|m| m.start);
        for m in ordered {
            let candidates: Vec<&Slot> = dialog
                .slots
                .iter()
                .filter(|s| s.entity == m.entity && !filled.contains(&s.name))
                .collect();
            let chosen = candidates
                .iter()
                .find(|s| Some(s.name.as_str()) == asking)
                .or_else(|| {
                    candidates
                        .iter()
                        .find(|s| !request.slots.contains_key(&s.name))
                })
                .or_else(|| candidates.first());
            let Some(slot) = chosen else {
                // "back up orders and billing": more values than slots for
                // them; never drop one silently.
                let taken = dialog
                    .slots
                    .iter()
                    .find(|s| s.entity == m.entity && filled.contains(&s.name));
                let mut named = false;
                if let Some(slot) = taken {
                    if let (Ok(value), Some(first)) = (
                        self.slot_value(slot, &m.value),
                        request.slots.get(&slot.name),
                    ) {
                        // A guess (a typo match, the tagger) that comes out as
                        // the value already taken is another word for
                        // something else ("pg-main-9" beside "pg-main"): left
                        // to be named back, never merged into it.
                        let guessed = matches!(m.source, MatchSource::Fuzzy | MatchSource::Tagger);
                        let values = several
                            .entry(slot.name.clone())
                            .or_insert_with(|| vec![first.value.clone()]);
                        if !values.contains(&value) {
                            values.push(value);
                            named = true;
                        } else {
                            named = !guessed;
                        }
                    }
                }
                if !named {
                    // Neither used nor named back ("to 5 -1"): left for the
                    // accounting of unused parts to name.
                    used.retain(|&span| span != (m.start, m.end));
                }
                continue;
            };
            match self.slot_value(slot, &m.value) {
                Ok(value) => {
                    let origin = if Some(slot.name.as_str()) == asking {
                        SlotOrigin::Asked
                    } else {
                        SlotOrigin::Extracted
                    };
                    request
                        .slots
                        .insert(slot.name.clone(), SlotValue { value, origin });
                    filled.insert(slot.name.clone());
                }
                Err(reason) => {
                    errors.push(reason);
                    rejected.insert(slot.name.clone());
                }
            }
        }
        several.retain(|_, values| values.len() > 1);
        Filled {
            slots: filled,
            errors,
            rejected,
            several: several.into_iter().next(),
            spans: used,
        }
    }

    pub(super) fn carry_over(
        &self,
        dialog: &Dialog,
        request: &mut Request,
        memory: &Memory,
        carry: CarryOver,
    ) {
        let carried = |s: &&Slot| s.carry_over || carry == CarryOver::AllSlots;
        for slot in dialog.slots.iter().filter(carried) {
            if request.slots.contains_key(&slot.name) {
                continue;
            }
            if let Some(remembered) = memory.get(&slot.name).filter(|r| r.entity == slot.entity) {
                request.slots.insert(
                    slot.name.clone(),
                    SlotValue {
                        value: remembered.value.clone(),
                        origin: SlotOrigin::CarriedOver,
                    },
                );
            }
        }
    }
}
