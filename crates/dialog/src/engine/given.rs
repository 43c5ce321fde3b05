//! A request a program states as a dialog and its values (an API or MCP
//! call): nothing is read into it. Each value is checked exactly as given —
//! a near listed value is never put in its place — and a value that does
//! not fit, a slot the dialog does not have or one left out is refused with
//! its reason, so the program can say it again; nothing is asked of the
//! person for it. A request whose values all fit goes on as one said in
//! words: defaults, lookups, access, confirmation.

use super::*;

impl<'a> Step<'a> {
    pub(super) fn given(&mut self, phase: Phase, given: &Given) -> Phase {
        if !matches!(phase, Phase::Idle) {
            // The runtime proposes only into an idle conversation; a request
            // already open is not replaced by one nobody in the room said.
            self.say("A request is open here already; answer or cancel it first.");
            return phase;
        }
        let Some(dialog) = self.project.dialogs.get(&given.dialog) else {
            let known: Vec<&str> = self.project.dialogs.keys().map(String::as_str).collect();
            self.say(format!(
                "There is no request named “{}”; the requests are {}.",
                given.dialog,
                opsbot_spec::join_or(&known)
            ));
            return Phase::Idle;
        };
        let mut request = self.new_request(dialog, &given.shown(), 1.0);
        if let Err(reason) =
            dialog
                .access
                .check_start(&self.project.settings.groups, self.ctx.user, self.ctx.room)
        {
            return self.deny(dialog, request, &reason);
        }
        let mut errors = Vec::new();
        for (name, value) in &given.slots {
            let Some(slot) = dialog.slot(name) else {
                let slots: Vec<&str> = dialog.slots.iter().map(|s| s.name.as_str()).collect();
                errors.push(if slots.is_empty() {
                    format!("{} takes no values, so “{name}” is not one", dialog.name)
                } else {
                    format!(
                        "{} has no value named “{name}”; it takes {}",
                        dialog.name,
                        opsbot_spec::join_or(&slots).replacen(" or ", " and ", 1)
                    )
                });
                continue;
            };
            match self.slot_value_as(slot, value, false) {
                Ok(value) => {
                    request.slots.insert(
                        slot.name.clone(),
                        SlotValue {
                            value,
                            origin: SlotOrigin::Extracted,
                        },
                    );
                }
                Err(reason) => errors.push(format!("the value for {name}: {reason}")),
            }
        }
        for slot in &dialog.slots {
            if request.slots.contains_key(&slot.name) || given.slots.contains_key(&slot.name) {
                continue;
            }
            match &slot.default {
                Some(default) => {
                    let value = self.slot_value(slot, default).unwrap_or(default.clone());
                    request.slots.insert(
                        slot.name.clone(),
                        SlotValue {
                            value,
                            origin: SlotOrigin::Default,
                        },
                    );
                }
                None => {
                    let takes = self
                        .project
                        .entities
                        .get(&slot.entity)
                        .map_or(slot.entity.as_str(), |e| e.description.as_str());
                    errors.push(format!("{} needs “{}” ({takes})", dialog.name, slot.name));
                }
            }
        }
        if !errors.is_empty() {
            for error in &errors {
                self.say(format!("{}.", capitalise(error)));
            }
            return Phase::Idle;
        }
        match &dialog.behaviour {
            Behaviour::Reply(template) => {
                let mut vars = self.vars(&request);
                vars.insert(
                    opsbot_spec::CAPABILITIES_VAR.into(),
                    self.project.capabilities(),
                );
                self.say(template.render(&vars));
                Phase::Idle
            }
            Behaviour::Run { .. } => self.advance(dialog, request),
        }
    }
}
