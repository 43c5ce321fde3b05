//! Cross-slot checks: a slot with `values_from` may only take the values its
//! lookup lists given the other slots ("a replica of the chosen cluster").
//! The engine asks for the lookup as an effect (here) and reads its result as
//! an input (`answers`), so it stays pure; a value not listed is refused
//! naming the choices, numbered, and the slot is asked again.

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
}
