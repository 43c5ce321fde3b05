//! A request under way: begun from a message (its values, carried-over ones,
//! an alert's, defaults) and moved on (the next question, a lookup, the
//! confirmation, or the run). Beneath starting, answering, confirming and
//! switching, so none of them depends on another to begin or advance one.

use super::*;

impl<'a> Step<'a> {
    pub(super) fn begin(
        &mut self,
        dialog: &Dialog,
        confidence: f32,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        self.begin_with(dialog, confidence, u, memory, CarryOver::MarkedSlots)
    }

    pub(super) fn begin_with(
        &mut self,
        dialog: &Dialog,
        confidence: f32,
        u: &Understanding,
        memory: &Memory,
        carry: CarryOver,
    ) -> Phase {
        if self.refuse_negated(dialog, u) {
            return Phase::Idle;
        }
        if let (Some(unsure), Behaviour::Run { .. }) = (&u.unsure, &dialog.behaviour) {
            let note = self.read_in_new_words(dialog, unsure);
            self.explain(note.clone(), Some(&dialog.name));
            self.notes.push(note);
        }
        self.read_as(u, Some(&dialog.intent));
        let mut request = self.new_request(dialog, &u.text, confidence);
        let found = self.fill_from_entities(dialog, &mut request, u, None);
        let (mut errors, rejected, mut spans) = (found.errors, found.rejected, found.spans);
        // What the person said and what carries over from their last request
        // win over an alert's values: the alert fills only what is left.
        let mut known = request.clone();
        if matches!(dialog.behaviour, Behaviour::Run { .. }) {
            self.carry_over(dialog, &mut known, memory, carry);
        }
        let (from_alert, which_alert) = self.fill_from_alert(dialog, &mut request, &known);
        errors.extend(from_alert);
        if let Err(reason) =
            dialog
                .access
                .check_start(&self.project.settings.groups, self.ctx.user, self.ctx.room)
        {
            return self.deny(dialog, request, &reason);
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
            Behaviour::Run { .. } => {
                let mut named = Vec::new();
                if errors.is_empty() {
                    let mut carried = request.clone();
                    self.carry_over(dialog, &mut carried, memory, carry);
                    if let Some((word, error)) = self.unknown_value(dialog, &carried, u) {
                        named.push(word);
                        errors.push(error);
                    }
                }
                // "at 21:00": a change asked for later is scheduled, so the
                // time is used, not named back.
                if let Some((span, at)) = self.deferral(dialog, u, &spans) {
                    request.at = Some(at);
                    request.at_said = u.text.get(span.0..span.1).map(str::to_string);
                    spans.push(span);
                } else if let Some(refusal) = self.past_time(dialog, u, &spans) {
                    // "rerun it yesterday at 3pm": neither then nor now was
                    // asked for, so nothing is kept.
                    self.say(refusal);
                    return Phase::Idle;
                }
                self.account(dialog, &u.text, &spans, &named);
                if let Some(first) = errors.first() {
                    self.explain(
                        format!("I could not take a value you gave: {first}."),
                        Some(&dialog.name),
                    );
                }
                for error in &errors {
                    self.say(format!("{}.", capitalise(error)));
                }
                if let Some(question) = which_alert {
                    self.say(question);
                }
                let said = errors;
                self.carry_over(dialog, &mut request, memory, carry);
                // A value said and refused is asked for, not replaced by the
                // default as if nothing was said.
                for slot in dialog.slots.iter().filter(|s| !rejected.contains(&s.name)) {
                    if let (false, Some(default)) =
                        (request.slots.contains_key(&slot.name), &slot.default)
                    {
                        // A typed default ("today") resolves now, like a value said.
                        let value = self.slot_value(slot, default).unwrap_or(default.clone());
                        request.slots.insert(
                            slot.name.clone(),
                            SlotValue {
                                value,
                                origin: SlotOrigin::Default,
                            },
                        );
                    }
                }
                if let Some((slot, values)) = found.several {
                    return self.ask_one_of(dialog, request, slot, values);
                }
                if let Some(next) = dialog
                    .slots
                    .iter()
                    .find(|s| !request.slots.contains_key(&s.name))
                {
                    self.offer_listed(next, &mut request, &said);
                }
                self.advance(dialog, request)
            }
        }
    }

    /// A request of `dialog` opened now by `said` (a message, or how a
    /// program's call is shown), nothing filled yet.
    pub(super) fn new_request(&self, dialog: &Dialog, said: &str, confidence: f32) -> Request {
        Request {
            id: request_id(self.ctx, said),
            dialog: dialog.name.clone(),
            intent: dialog.intent.clone(),
            confidence,
            slots: BTreeMap::new(),
            messages: vec![said.to_string()],
            failed_answers: 0,
            confirmed_by: None,
            approved_by: None,
            declined_by: None,
            two_factor: false,
            dry_run: self.ctx.dry_run,
            started_at: self.ctx.now,
            alert: None,
            touched_at: self.ctx.now,
            offered: Vec::new(),
            checked: BTreeMap::new(),
            at: None,
            at_said: None,
            proposed_by: self.ctx.proposed_by.map(str::to_string),
            runbook: None,
        }
    }

    /// "“bounce” is not a word my requests use; I read it as a request to
    /// restart a service on a host.": the classifier read the intent, but the
    /// message asks for it in a word no example uses (or states a problem
    /// without asking anything). Said when such a message starts a request
    /// without being asked about first (a follow-up); a change is then
    /// confirmed even when its dialog would not ask.
    pub(super) fn read_in_new_words(&self, dialog: &Dialog, unsure: &opsbot_nlu::Unsure) -> String {
        match &unsure.word {
            Some(word) => format!(
                "“{word}” is not a word my requests use; I read it as a request to {}.",
                dialog.description
            ),
            None => format!(
                "You did not say what to do; I read that as a request to {}.",
                dialog.description
            ),
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

    /// A request's values once every slot is filled: looked up where they
    /// depend on others (the lookup also applies the access rules), else
    /// checked against the access rules. `Err` is the phase that answers it
    /// (waiting for the lookup, or denied).
    pub(super) fn check_values(
        &mut self,
        dialog: &Dialog,
        request: Request,
    ) -> Result<Request, Box<Phase>> {
        if let Some(phase) = self.look_up(dialog, &request) {
            return Err(Box::new(phase));
        }
        match dialog.access.check_values(
            &self.project.settings.groups,
            self.ctx.user,
            &request.slot_values(),
        ) {
            Ok(()) => Ok(request),
            Err(reason) => Err(Box::new(self.deny(dialog, request, &reason))),
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
        let request = match self.check_values(dialog, request) {
            Ok(request) => request,
            Err(phase) => return *phase,
        };
        // A part of the message left unused turns even a change its author
        // let run unasked into a question: the person hears what was left out.
        let unasked_change = !dialog.read_only && (!self.notes.is_empty() || request.at.is_some());
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
}
