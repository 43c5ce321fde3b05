//! Answers while a request is open: values found in messages, carry-over,
//! asking for the next slot, and the yes/no of a confirmation.

use super::*;
use crate::asides;
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
        let Some(entity) = self.project.entities.get(&slot.entity) else {
            return Err(format!("slot {} has no entity {}", slot.name, slot.entity));
        };
        let frame = TimeFrame {
            now: self.ctx.now,
            zone: self.ctx.time_zone,
            direction: slot.limits.direction,
        };
        let value = entity.validate_in(candidate, &frame).map_err(|refused| {
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

    /// Assigns the message's entities to the dialog's slots; the slot being asked
    /// for gets the first value of its entity. Returns the slots set, the
    /// reasons any value was rejected, and the slots whose value was.
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
        ordered.sort_by(|a, b| {
            a.source
                .rank()
                .cmp(&b.source.rank())
                .then((b.end - b.start).cmp(&(a.end - a.start)))
                .then(a.start.cmp(&b.start))
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

    /// "You named orders and billing for database, but one request takes one
    /// …": the slot is asked again with the values numbered.
    pub(super) fn ask_one_of(
        &mut self,
        dialog: &Dialog,
        mut request: Request,
        slot_name: String,
        values: Vec<String>,
    ) -> Phase {
        request.slots.remove(&slot_name);
        let named: Vec<&str> = values.iter().map(String::as_str).collect();
        let named = opsbot_spec::join_or(&named).replacen(" or ", " and ", 1);
        let said = format!(
            "You named {named} for {slot_name}, but one request takes one {slot_name}, and I would not drop the other silently."
        );
        self.say(format!(
            "{said} Which one first: {}? Say one, or its number; then ask again for the other.",
            numbered(&values)
        ));
        self.explain(said, Some(&dialog.name));
        request.offered = values;
        Phase::Collecting {
            request,
            asking: slot_name,
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

    pub(super) fn advance(&mut self, dialog: &Dialog, request: Request) -> Phase {
        if let Some(slot) = dialog
            .slots
            .iter()
            .find(|s| !request.slots.contains_key(&s.name))
        {
            let prompt = self.prompt(dialog, slot, &request);
            let prompt = self.noted(prompt);
            self.say(prompt);
            return Phase::Collecting {
                request,
                asking: slot.name.clone(),
            };
        }
        // Values that depend on others ("a replica of the chosen cluster")
        // are looked up once everything is known.
        if let Some(phase) = self.look_up(dialog, &request) {
            return phase;
        }
        if let Err(reason) = dialog.access.check_values(
            &self.project.settings.groups,
            self.ctx.user,
            &request.slot_values(),
        ) {
            return self.deny(dialog, request, &reason);
        }
        // A part of the message left unused turns even a change its author
        // let run unasked into a question: the person hears what was left out.
        let unasked_change = !dialog.read_only && !self.notes.is_empty();
        if dialog.confirm.is_some() || unasked_change {
            let preview = self.preview(dialog, &request);
            let preview = self.noted(preview);
            self.say(preview);
            return Phase::AwaitingConfirmation { request };
        }
        if !self.notes.is_empty() {
            let notes = self.noted(String::new());
            self.say(notes);
        }
        self.confirmed(dialog, request)
    }

    pub(super) fn collect(
        &mut self,
        mut request: Request,
        asking: String,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        if phrases::is_cancel(&u.text) {
            request.messages.push(u.text.clone());
            return self.cancel(request);
        }
        let slot = dialog.slot(&asking).expect("asked slot exists");
        if asides::is_which_ones(&u.text) {
            request.touched_at = self.ctx.now;
            if let Some(phase) = self.look_up_slot(dialog, slot, &request) {
                return phase;
            }
            self.list_choices(dialog, slot, &mut request);
            return Phase::Collecting { request, asking };
        }
        let by_number = asides::numbered_choice(&u.text, request.offered.len())
            .and_then(|i| self.slot_value(slot, &request.offered[i]).ok());
        if let Some(value) = by_number {
            request.messages.push(u.text.clone());
            request.touched_at = self.ctx.now;
            request.offered.clear();
            request.failed_answers = 0;
            request.slots.insert(
                asking,
                SlotValue {
                    value,
                    origin: SlotOrigin::Asked,
                },
            );
            return self.advance(dialog, request);
        }
        if let Some(phase) = self.not_an_answer(dialog, &mut request, Some(&asking), u, memory) {
            return phase;
        }
        let before = request.slots.clone();
        let found = self.fill_from_entities(dialog, &mut request, u, Some(&asking));
        // A value given for another slot while this one was asked replaces
        // what was said before only out loud ("10.9.9.9" while the TTL is
        // asked): never silently.
        for (name, old) in &before {
            match request.slots.get(name) {
                Some(new) if name != &asking && new.value != old.value => {
                    let shown = name.replace(['_', '-'], " ");
                    self.notes.push(format!(
                        "I changed the {shown} from {} to {}.",
                        old.value, new.value
                    ));
                }
                _ => {}
            }
        }
        if !found.slots.is_empty() {
            self.account(dialog, &u.text, &found.spans, &[]);
        }
        if let Some((slot, values)) = found.several {
            request.messages.push(u.text.clone());
            request.touched_at = self.ctx.now;
            return self.ask_one_of(dialog, request, slot, values);
        }
        let (filled, mut errors) = (found.slots, found.errors);
        if !request.slots.contains_key(&asking) {
            // Not an answer: maybe a question aside ("help") or a new request.
            let other = u.intent.as_ref().and_then(|g| {
                self.project
                    .dialog_for_intent(&g.name)
                    .map(|d| (d, g.confidence))
            });
            let plain_reply = phrases::classify(&u.text) != Answer::Other;
            if let (Some((other, confidence)), true) = (other, errors.is_empty() && !plain_reply) {
                if other.name != dialog.name && confidence >= SWITCH_CONFIDENCE {
                    match other.behaviour {
                        Behaviour::Reply(_) => {
                            self.begin(other, confidence, u, memory);
                            let slot = dialog.slot(&asking).expect("asked slot exists");
                            let prompt = self.prompt(dialog, slot, &request);
                            self.say(prompt);
                            return Phase::Collecting { request, asking };
                        }
                        // An answer that failed to parse may still read like
                        // another change ("the one from before the backup"):
                        // a change is dropped for another only when the
                        // message names what that one acts on.
                        Behaviour::Run { .. }
                            if !other.read_only
                                && !u
                                    .entities
                                    .iter()
                                    .any(|m| other.slots.iter().any(|s| s.entity == m.entity)) =>
                        {
                            request.messages.push(u.text.clone());
                            request.touched_at = self.ctx.now;
                            let slot = dialog.slot(&asking).expect("asked slot exists");
                            let prompt = self.prompt(dialog, slot, &request);
                            let kept = format!(
                                "That reads like a request to {}, but your request to {} is still waiting for this answer; say “cancel” first to drop it.",
                                other.description, dialog.description
                            );
                            self.say(format!("{kept} {prompt}"));
                            self.explain(kept, Some(&other.name));
                            return Phase::Collecting { request, asking };
                        }
                        Behaviour::Run { .. } => {
                            self.say(format!(
                                "Okay, I dropped your request to {}.",
                                dialog.description
                            ));
                            self.learn_from_switch(&request, &other.intent);
                            self.record(
                                Outcome::Cancelled,
                                request,
                                "abandoned for another request",
                            );
                            return self.begin(other, confidence, u, memory);
                        }
                    }
                }
            }
            request.messages.push(u.text.clone());
            request.touched_at = self.ctx.now;
            if !filled.is_empty() && errors.is_empty() {
                // A correction of another slot ("make it checkout"): asked again,
                // with the new value in the question.
                return self.advance(dialog, request);
            }
            let slot = dialog.slot(&asking).expect("asked slot exists");
            if errors.is_empty() {
                match self.slot_value(slot, strip_answer(&u.text)) {
                    Ok(value) => {
                        request.slots.insert(
                            asking.clone(),
                            SlotValue {
                                value,
                                origin: SlotOrigin::Asked,
                            },
                        );
                    }
                    Err(reason) => errors.push(reason),
                }
            }
            if !request.slots.contains_key(&asking) {
                request.failed_answers += 1;
                self.offer_listed(slot, &mut request, &errors);
                let prompt = self.prompt(dialog, slot, &request);
                let hint = if request.failed_answers >= 2 {
                    " (Say “cancel” to stop.)"
                } else {
                    ""
                };
                if let Some(error) = errors.first() {
                    self.explain(
                        format!("I could not take that as {}: {error}.", slot.name),
                        Some(&dialog.name),
                    );
                }
                let reason = errors.first().map(|e| capitalise(e)).unwrap_or_default();
                self.say(format!("{reason}. {prompt}{hint}"));
                return Phase::Collecting { request, asking };
            }
        } else {
            request.messages.push(u.text.clone());
            request.touched_at = self.ctx.now;
        }
        request.failed_answers = 0;
        // A list offered for this answer means nothing for the next question.
        request.offered.clear();
        self.advance(dialog, request)
    }
}
