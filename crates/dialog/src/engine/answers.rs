//! Answers while a request is open: the answer to the question for a slot
//! (a value, a number from the choices, "which ones are there?", or something
//! that is no answer), and a lookup's answer for the slot being checked.

use super::*;
use crate::asides;

impl<'a> Step<'a> {
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

    /// The lookup's answer for the slot being checked.
    pub(super) fn looked_up(
        &mut self,
        phase: Phase,
        result: &Result<Vec<String>, String>,
    ) -> Phase {
        let Phase::Checking { mut request, slot } = phase else {
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let given = self.given_besides(dialog, &request, &slot);
        let Some(value) = request.slots.get(&slot).map(|v| v.value.clone()) else {
            // "which ones are there?": the choices, numbered.
            let prompt = dialog
                .slot(&slot)
                .map(|s| self.prompt(dialog, s, &request))
                .unwrap_or_default();
            match result {
                Ok(values) if !values.is_empty() => {
                    self.say(format!(
                        "The choices{given}: {}. Say one, or its number. {prompt}",
                        numbered(values)
                    ));
                    request.offered = values.clone();
                }
                Ok(_) => self.say(format!("There is no {slot} to choose{given}. {prompt}")),
                Err(error) => self.say(format!(
                    "I could not look up the choices for {slot}{given}: {error}. {prompt}"
                )),
            }
            return Phase::Collecting {
                request,
                asking: slot,
            };
        };
        match result {
            Err(error) => {
                let said = format!(
                    "I could not look up which {slot} values are allowed{given}: {error}. Nothing was run."
                );
                self.say(said.clone());
                self.explain(said, Some(&dialog.name));
                self.record(
                    Outcome::Cancelled,
                    request,
                    format!("values_from of {slot} failed: {error}"),
                );
                Phase::Idle
            }
            Ok(values) if values.iter().any(|v| v.eq_ignore_ascii_case(&value)) => {
                request.checked.insert(slot, value);
                self.advance(dialog, request)
            }
            Ok(values) if values.is_empty() => {
                let said = format!(
                    "There is no {slot} to choose{given}, so I cannot {}. Nothing was run.",
                    dialog.description
                );
                self.say(said.clone());
                self.explain(said, Some(&dialog.name));
                self.record(
                    Outcome::Cancelled,
                    request,
                    format!("values_from of {slot} listed nothing"),
                );
                Phase::Idle
            }
            Ok(values) => {
                let said = format!(
                    "“{value}” is not a {slot} I may use{given}; the choices are {}",
                    numbered(values)
                );
                self.explain(format!("{said}."), Some(&dialog.name));
                request.slots.remove(&slot);
                request.checked.remove(&slot);
                request.offered = values.clone();
                let prompt = dialog
                    .slot(&slot)
                    .map(|s| self.prompt(dialog, s, &request))
                    .unwrap_or_default();
                self.say(format!("{said}. Say one, or its number. {prompt}"));
                Phase::Collecting {
                    request,
                    asking: slot,
                }
            }
        }
    }

    /// " for cluster pg-main": the other values a lookup was given.
    fn given_besides(&self, dialog: &Dialog, request: &Request, slot: &str) -> String {
        let others: Vec<String> = dialog
            .slots
            .iter()
            .filter(|s| s.name != slot)
            .filter_map(|s| Some(format!("{} {}", s.name, request.slots.get(&s.name)?.value)))
            .collect();
        if others.is_empty() {
            String::new()
        } else {
            format!(" for {}", others.join(" and "))
        }
    }
}
