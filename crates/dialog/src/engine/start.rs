//! Starting a request: reading a message in any phase, expiry, the
//! ambiguity question, follow-ups, and beginning a dialog.

use super::*;

impl<'a> Step<'a> {
    pub(super) fn message(
        &mut self,
        phase: Phase,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
        u: &Understanding,
    ) -> Phase {
        if let Some(refusal) = overlong_reply(&u.text) {
            self.say(refusal);
            return phase;
        }
        if u.text.trim().is_empty() {
            return phase;
        }
        if u.text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            self.say("That message contains control characters; please send plain text.");
            return phase;
        }
        if let Some(found) = phrases::shell_syntax(&outside_values(u)) {
            let question = match &phase {
                Phase::Collecting { request, asking } => self
                    .project
                    .dialogs
                    .get(&request.dialog)
                    .and_then(|d| {
                        let slot = d.slots.iter().find(|s| &s.name == asking)?;
                        Some(format!(" {}", self.prompt(d, slot, request)))
                    })
                    .unwrap_or_default(),
                _ => String::new(),
            };
            self.say(format!(
                "That message contains shell syntax (`{found}`) outside any value I could take whole. I never pass text to a shell and do not act on part of a message, so I did nothing with it.{question}"
            ));
            return phase;
        }
        let Some(phase) = self.expire(phase, Some(u)) else {
            return Phase::Idle;
        };
        if phrases::is_disowning(&u.text) {
            return self.disown(phase);
        }
        if self.aside(u) {
            return phase;
        }
        match phase {
            Phase::Idle => self.start(u, memory, last_dialog),
            Phase::Collecting { request, asking } => self.collect(request, asking, u, memory),
            Phase::AwaitingConfirmation { request } => self.confirm(request, u, memory),
            Phase::AwaitingCode { request } => {
                if phrases::is_cancel(&u.text) {
                    return self.cancel(request);
                }
                self.say("Please send the current 6-digit code from your authenticator app, or say “cancel”.");
                Phase::AwaitingCode { request }
            }
            Phase::AwaitingApproval { request } => {
                if phrases::is_cancel(&u.text) {
                    return self.cancel(request);
                }
                let approvers = self.approver_names(&request.dialog);
                self.say(format!("Your request {} is still waiting for approval by a member of {approvers}. Say “cancel” to withdraw it.", request.short_id()));
                Phase::AwaitingApproval { request }
            }
            Phase::Checking { request, .. } => {
                // Only after a restart mid-lookup: look it up again.
                let Some(dialog) = self.dialog_of(&request) else {
                    return Phase::Idle;
                };
                self.advance(dialog, request)
            }
            Phase::Executing { request } => {
                let description = self.description(&request.dialog);
                self.say(format!("I am still working on your request to {description}; I will tell you when it is done."));
                Phase::Executing { request }
            }
            Phase::Choosing {
                options,
                message,
                disowned,
                ..
            } => self.choose(options, message, disowned, u, memory),
        }
    }

    /// Asks which of two close intents was meant.
    pub(super) fn ask_which(&mut self, u: &Understanding) -> Option<Phase> {
        let mut options: Vec<Choice> = Vec::new();
        for guess in &u.ambiguous {
            let dialog = self.project.dialog_for_intent(&guess.name)?;
            if options.iter().any(|o| o.dialog == dialog.name) {
                return None; // two intents of one dialog: nothing to choose
            }
            options.push(Choice {
                intent: guess.name.clone(),
                dialog: dialog.name.clone(),
                confidence: guess.confidence,
            });
        }
        if options.len() < 2 {
            return None;
        }
        let described: Vec<String> = options
            .iter()
            .map(|o| format!("to {}", self.description(&o.dialog)))
            .collect();
        self.say(format!(
            "Did you mean {}? Say “the first”, “the second” or what you meant.",
            described.join(" or ")
        ));
        self.read_as(u, None);
        Some(Phase::Choosing {
            options,
            message: u.clone(),
            asked_at: self.ctx.now,
            disowned: false,
        })
    }

    /// Resolves the answer to "did you mean A or B?" (or, `disowned`, to
    /// "what did you mean?"): by position, by words of an option's name or
    /// description, or by what the reply itself means. The answer labels the
    /// message for the review inbox. Anything else is read as a new message.
    pub(super) fn choose(
        &mut self,
        options: Vec<Choice>,
        message: Understanding,
        disowned: bool,
        u: &Understanding,
        memory: &Memory,
    ) -> Phase {
        if phrases::is_none_of_these(&u.text) {
            self.learn_choice(&message, disowned, opsbot_spec::OUT_OF_SCOPE);
            self.say("Okay, none of these. I noted it, so someone can teach me what you meant.");
            return Phase::Idle;
        }
        if matches!(phrases::classify(&u.text), Answer::No) || phrases::is_cancel(&u.text) {
            self.say(if disowned {
                "Okay."
            } else {
                "Okay, I will do neither."
            });
            return Phase::Idle;
        }
        let picked = phrases::ordinal_choice(&u.text, options.len())
            .or_else(|| self.option_named(&options, &u.text))
            .or_else(|| {
                let intent = &u.intent.as_ref()?.name;
                options.iter().position(|o| &o.intent == intent)
            });
        let Some(index) = picked else {
            return self.start(u, memory, None);
        };
        let choice = &options[index];
        let Some(dialog) = self.project.dialogs.get(&choice.dialog) else {
            self.not_understood(u);
            return Phase::Idle;
        };
        self.learn_choice(&message, disowned, &choice.intent);
        let mut message = message;
        message.intent = Some(IntentGuess {
            name: choice.intent.clone(),
            confidence: choice.confidence,
        });
        message.ambiguous.clear();
        self.begin(dialog, choice.confidence, &message, memory)
    }

    /// The one option whose dialog name, intent name or description shares a
    /// word with the reply ("deploy", "the restart one"), if exactly one does.
    pub(super) fn option_named(&self, options: &[Choice], reply: &str) -> Option<usize> {
        const IGNORED: &[&str] = &[
            "the", "a", "an", "to", "on", "of", "one", "for", "and", "i", "meant", "mean",
            "please", "it", "in", "with",
        ];
        let words = |text: &str| -> Vec<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .filter(|w| !IGNORED.contains(&w.as_str()))
                .collect()
        };
        let reply = words(reply);
        if reply.is_empty() {
            return None;
        }
        let matching: Vec<usize> = options
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                let names = words(&format!(
                    "{} {} {}",
                    o.dialog.replace('_', " "),
                    o.intent.replace('_', " "),
                    self.description(&o.dialog)
                ));
                reply.iter().any(|w| names.iter().any(|n| stem_eq(n, w)))
            })
            .map(|(i, _)| i)
            .collect();
        match matching.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Drops a pending question, confirmation, code request or approval that
    /// waited too long. `u` is the message that arrived, if any.
    /// Returns `None` when the message was only an answer to the dropped
    /// question, so there is nothing more to do.
    pub(super) fn expire(&mut self, phase: Phase, u: Option<&Understanding>) -> Option<Phase> {
        let settings = &self.project.settings;
        let (request, limit) = match &phase {
            Phase::Collecting { request, .. } | Phase::Checking { request, .. } => {
                (request, settings.pending_expiry)
            }
            Phase::AwaitingConfirmation { request }
            | Phase::AwaitingCode { request }
            | Phase::AwaitingApproval { request } => (request, settings.confirmation_expiry),
            Phase::Choosing { asked_at, .. } => {
                // Nothing was requested yet, so nothing to record: a late reply
                // is simply read as a new message.
                return if elapsed(*asked_at, self.ctx.now) <= settings.pending_expiry {
                    Some(phase)
                } else {
                    Some(Phase::Idle)
                };
            }
            _ => return Some(phase),
        };
        if elapsed(request.touched_at, self.ctx.now) <= limit {
            return Some(phase);
        }
        let description = self.description(&request.dialog);
        let dropped = format!(
            "Your request to {description} waited more than {} for an answer, so I dropped it.",
            humantime::format_duration(limit)
        );
        self.say(dropped.clone());
        self.explain(dropped, Some(&request.dialog));
        self.record(
            Outcome::Expired,
            request.clone(),
            "no answer before the pending request expired",
        );
        let u = u?;
        if !matches!(phrases::classify(&u.text), Answer::Other)
            || phrases::totp_code(&u.text).is_some()
        {
            self.say("Nothing is waiting for an answer now; ask again if you still need it.");
            return None;
        }
        // Anything else is read afresh, as a new request.
        Some(Phase::Idle)
    }

    pub(super) fn start(
        &mut self,
        u: &Understanding,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
    ) -> Phase {
        // A new request is the latest decision: "why?" never explains a
        // refusal older than it (one made in this step stays).
        self.explanation.take_if(|e| e.at != self.ctx.now);
        match phrases::classify(&u.text) {
            Answer::Yes => {
                self.say("There is nothing waiting for a yes right now. Say “help” to see what I can do.");
                return Phase::Idle;
            }
            Answer::No => {
                self.say("Okay. There is nothing to cancel.");
                return Phase::Idle;
            }
            _ => {}
        }
        if let Some(phase) = self.follow_up(u, memory, last_dialog) {
            return phase;
        }
        if self.refuse_question(u) {
            return Phase::Idle;
        }
        if !u.ambiguous.is_empty() {
            if let Some(phase) = self.ask_which(u) {
                return phase;
            }
        }
        match u.intent.as_ref().and_then(|g| {
            self.project
                .dialog_for_intent(&g.name)
                .map(|d| (d, g.confidence))
        }) {
            Some((dialog, confidence)) => {
                let phase = self.begin(dialog, confidence, u, memory);
                self.learn_if_unsure(confidence);
                phase
            }
            None => {
                self.learn_not_understood(u);
                self.not_understood(u);
                Phase::Idle
            }
        }
    }

    /// "and on web-02", "also staging", "same for redis": a message that opens
    /// like a follow-up and names a value for the last finished request's
    /// dialog repeats that request with the new value, every other slot
    /// carried over.
    pub(super) fn follow_up(
        &mut self,
        u: &Understanding,
        memory: &Memory,
        last_dialog: Option<&LastDialog>,
    ) -> Option<Phase> {
        let last = last_dialog?;
        let dialog = self.project.dialogs.get(&last.dialog)?;
        if !phrases::is_follow_up(&u.text)
            || !u
                .entities
                .iter()
                .any(|m| dialog.slots.iter().any(|s| s.entity == m.entity))
        {
            return None;
        }
        // A follow-up that clearly asks for something else is that request:
        // another intent, confidently, whose dialog has a slot for a value named.
        let asks_for_other = u.intent.as_ref().is_some_and(|g| {
            g.confidence >= SWITCH_CONFIDENCE
                && self.project.dialog_for_intent(&g.name).is_some_and(|d| {
                    d.name != dialog.name
                        && u.entities
                            .iter()
                            .any(|m| d.slots.iter().any(|s| s.entity == m.entity))
                })
        });
        if asks_for_other {
            return None;
        }
        let confidence = u.intent.as_ref().map_or(0.0, |g| g.confidence);
        Some(self.begin_with(dialog, confidence, u, memory, CarryOver::AllSlots))
    }

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
        self.read_as(u, Some(&dialog.intent));
        let mut request = Request {
            id: request_id(self.ctx, &u.text),
            dialog: dialog.name.clone(),
            intent: dialog.intent.clone(),
            confidence,
            slots: BTreeMap::new(),
            messages: vec![u.text.clone()],
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
        };
        let found = self.fill_from_entities(dialog, &mut request, u, None);
        let (mut errors, rejected, spans) = (found.errors, found.rejected, found.spans);
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
}
