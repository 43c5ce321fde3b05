//! Reading a message in any phase: an unusable one (overlong, control
//! characters, shell syntax) is refused, an expired request dropped, "that's
//! not what I meant" and asides answered; anything else goes to the phase's
//! own handler (starting, answering, confirming, …).

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
            Phase::RunbookPaused { request, pause } => self.runbook_answer(request, pause, u),
            Phase::Choosing {
                options,
                message,
                disowned,
                ..
            } => self.choose(options, message, disowned, u, memory),
        }
    }
}
