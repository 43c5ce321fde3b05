//! Cross-slot checks: a slot with `values_from` may only take the values its
//! lookup lists given the other slots ("a replica of the chosen cluster").
//! The engine asks for the lookup as an effect and reads its result as an
//! input, so it stays pure; a value not listed is refused naming the choices,
//! numbered, and the slot is asked again.

use super::*;

impl<'a> Step<'a> {
    /// The lookup of the first slot whose value its `values_from` has not
    /// yet allowed, as an effect; `None` when every value is allowed.
    pub(super) fn look_up(&mut self, dialog: &Dialog, request: &Request) -> Option<Phase> {
        let slot = dialog.slots.iter().find(|s| {
            s.values_from.is_some()
                && request
                    .slots
                    .get(&s.name)
                    .is_some_and(|v| request.checked.get(&s.name) != Some(&v.value))
        })?;
        self.look_up_slot(dialog, slot, request)
    }

    /// The lookup of one slot's `values_from` (to check its value, or, when
    /// it has none yet, to list the choices); `None` without one. A lookup
    /// program is the author's code run on the user's words: someone the
    /// access rules refuse for the values given so far is denied before it runs.
    pub(super) fn look_up_slot(
        &mut self,
        dialog: &Dialog,
        slot: &Slot,
        request: &Request,
    ) -> Option<Phase> {
        let from = slot.values_from.as_ref()?;
        if let Err(reason) = dialog.access.check_values(
            &self.project.settings.groups,
            self.ctx.user,
            &request.slot_values(),
        ) {
            return Some(self.deny(dialog, request.clone(), &reason));
        }
        let vars = self.vars(request);
        let lookup = plan::lookup(
            dialog,
            from,
            &vars,
            request,
            self.ctx.user,
            self.ctx.room,
            &self.project.root,
        );
        self.effects.push(Effect::Lookup {
            lookup,
            slot: slot.name.clone(),
        });
        Some(Phase::Checking {
            request: request.clone(),
            slot: slot.name.clone(),
        })
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
