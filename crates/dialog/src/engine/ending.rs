//! How a request ends: confirmed and guarded (2FA, approval, rate limit),
//! run, approved or declined, finished, interrupted by a restart, or dropped
//! when an answer waited too long.

use super::*;

impl<'a> Step<'a> {
    /// After the requester's yes (or directly, for read-only dialogs): the rate
    /// limit (not for read-only dialogs), then 2FA and approval, then the run.
    pub(super) fn confirmed(&mut self, dialog: &Dialog, request: Request) -> Phase {
        let limit = &self.project.settings.rate_limit;
        if !dialog.read_only
            && !request.dry_run
            && !self.ctx.dry_run
            && self.ctx.recent_executions >= limit.executions
        {
            let wait = format!(
                "You have started {} actions in the last {}; please wait a little",
                self.ctx.recent_executions,
                humantime::format_duration(limit.per)
            );
            if dialog.confirm.is_some() {
                self.say(format!(
                    "{wait}, then answer again. {}",
                    self.preview(dialog, &request)
                ));
                return Phase::AwaitingConfirmation { request };
            }
            self.say(format!("{wait}, then ask again."));
            return Phase::Idle;
        }
        self.guarded(dialog, request)
    }

    /// The checks that follow confirmation, in order: 2FA, then approval.
    pub(super) fn guarded(&mut self, dialog: &Dialog, mut request: Request) -> Phase {
        if dialog.two_factor && !request.two_factor {
            if !self.ctx.two_factor_enrolled {
                let reason = format!(
                    "it needs two-factor authentication and {} has not enrolled (an operator can run `opsbot 2fa enroll {}`)",
                    self.ctx.user, self.ctx.user
                );
                return self.deny(dialog, request, &reason);
            }
            request.touched_at = self.ctx.now;
            self.say("This needs two-factor authentication: please send the current 6-digit code from your authenticator app.");
            return Phase::AwaitingCode { request };
        }
        let needs_approval = dialog
            .approval
            .as_ref()
            .is_some_and(|a| a.applies(&request.slot_values()));
        if needs_approval && request.approved_by.is_none() {
            request.touched_at = self.ctx.now;
            self.say(format!(
                "{} asks to {}. A member of {} other than {} must approve: say “approve {}” or “deny {}”. This expires in {}.",
                self.ctx.user,
                self.describe(dialog, &request),
                self.approver_names(&dialog.name),
                self.ctx.user,
                request.short_id(),
                request.short_id(),
                humantime::format_duration(self.project.settings.confirmation_expiry)
            ));
            let steps = self.steps_line(dialog, &request);
            if let (false, Some(last)) = (steps.is_empty(), self.replies.last_mut()) {
                last.push_str(&steps);
            }
            return Phase::AwaitingApproval { request };
        }
        self.run(dialog, request)
    }

    pub(super) fn run(&mut self, dialog: &Dialog, mut request: Request) -> Phase {
        let Behaviour::Run {
            action, running, ..
        } = &dialog.behaviour
        else {
            return Phase::Idle;
        };
        if let opsbot_spec::Action::Runbook(runbook) = action {
            return self.run_runbook(dialog, runbook, request);
        }
        let vars = self.vars(&request);
        let mut plan = plan::build(
            dialog,
            action,
            &vars,
            &request,
            self.ctx.user,
            self.ctx.room,
        );
        if let plan::Plan::ShowAudit(query) = &mut plan {
            query.zone = Some(self.ctx.time_zone.name().to_string());
        }
        // A dialog that changes nothing runs for real even in a dry run.
        let dry = (request.dry_run || self.ctx.dry_run) && !dialog.read_only;
        request.dry_run = dry;
        if dry {
            if let Some(preview) = &dialog.preview {
                // The read-only preview runs; its output goes with the plan.
                let preview = plan::build(
                    dialog,
                    &opsbot_spec::Action::Program(preview.clone()),
                    &vars,
                    &request,
                    self.ctx.user,
                    self.ctx.room,
                );
                self.say(format!(
                    "Dry run: nothing will change. Previewing with {} …",
                    preview.command_line()
                ));
                self.effects.push(Effect::Run {
                    plan: preview,
                    request: request.clone(),
                });
                return Phase::Executing { request };
            }
            self.say(format!("Dry run, nothing was run. {}", plan.describe()));
            self.record(Outcome::DryRun, request, "dry run");
            return Phase::Idle;
        }
        let request = match self.timed(dialog, request) {
            Ok(request) => request,
            Err(phase) => return *phase,
        };
        if let Some(running) = running {
            self.say(running.render(&vars));
        }
        self.effects.push(Effect::Run {
            plan,
            request: request.clone(),
        });
        Phase::Executing { request }
    }

    /// A runbook request: its dry run shows every step; for later, it is
    /// scheduled; else it starts at its first step.
    fn run_runbook(
        &mut self,
        dialog: &Dialog,
        runbook: &opsbot_spec::Runbook,
        mut request: Request,
    ) -> Phase {
        request.dry_run = request.dry_run || self.ctx.dry_run;
        if request.dry_run {
            let plan = self.runbook_dry_run(dialog, runbook, &request);
            self.say(plan);
            self.record(Outcome::DryRun, request, "dry run");
            return Phase::Idle;
        }
        match self.timed(dialog, request) {
            Ok(request) => self.start_runbook(dialog, runbook, request),
            Err(phase) => *phase,
        }
    }

    /// A request for a later time is scheduled, and one confirmed after
    /// its time is refused; `Ok` when it runs now.
    fn timed(&mut self, dialog: &Dialog, request: Request) -> Result<Request, Box<Phase>> {
        let Some(at) = request.at else {
            return Ok(request);
        };
        if at > self.ctx.now {
            return Err(Box::new(self.schedule(dialog, request, at)));
        }
        // Confirmed after the time it was asked for: never run late
        // unasked.
        self.say(format!(
            "The time you gave for this has passed, so I did not {}; ask again with a new time, or without one to run it now.",
            dialog.description
        ));
        self.record(Outcome::Cancelled, request, "confirmed after its time");
        Err(Box::new(Phase::Idle))
    }

    pub(super) fn code(&mut self, phase: Phase, check: CodeCheck) -> Phase {
        let Some(phase) = self.expire(phase, None) else {
            return Phase::Idle;
        };
        let Phase::AwaitingCode { mut request } = phase else {
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        match check {
            CodeCheck::Valid => {
                request.two_factor = true;
                self.guarded(dialog, request)
            }
            CodeCheck::Invalid { tries_left } => {
                self.say(format!(
                    "That code is not valid; {tries_left} more wrong codes lock two-factor authentication. Please send the current code, or say “cancel”."
                ));
                Phase::AwaitingCode { request }
            }
            CodeCheck::AlreadyUsed => {
                self.say(
                    "That code was already used; a code works once. Please wait for the next one and send it, or say “cancel”.",
                );
                Phase::AwaitingCode { request }
            }
            CodeCheck::NotEnrolled => {
                let reason = format!("it needs two-factor authentication and {} has not enrolled (an operator can run `opsbot 2fa enroll {}`)", self.ctx.user, self.ctx.user);
                self.deny(dialog, request, &reason)
            }
            CodeCheck::LockedOut { until } => {
                let reason = format!(
                    "too many wrong codes, so two-factor authentication is locked until {}",
                    until.format("%H:%M UTC")
                );
                self.deny(dialog, request, &reason)
            }
        }
    }

    pub(super) fn approval(&mut self, phase: Phase, approver: &str, approve: bool) -> Phase {
        let Some(phase) = self.expire(phase, None) else {
            return Phase::Idle;
        };
        if let Phase::RunbookPaused {
            request,
            pause: crate::state::Pause::Approval,
        } = phase
        {
            return self.step_approval(request, approver, approve);
        }
        let Phase::AwaitingApproval { mut request } = phase else {
            self.say("That request is no longer waiting for approval.");
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let approvers = dialog
            .approval
            .as_ref()
            .map(|a| a.groups.clone())
            .unwrap_or_default();
        if self.project.settings.same_person(approver, self.ctx.user) {
            self.say(format!(
                "You cannot approve your own request; a member of {} other than you must.",
                self.approver_names(&dialog.name)
            ));
            return Phase::AwaitingApproval { request };
        }
        if !opsbot_spec::access::member_of_any(&self.project.settings.groups, approver, &approvers)
        {
            self.say(format!(
                "{approver} is not a member of {}, so cannot decide on this request.",
                self.approver_names(&dialog.name)
            ));
            return Phase::AwaitingApproval { request };
        }
        if !approve {
            request.declined_by = Some(approver.to_string());
            self.say(format!(
                "{approver} declined {}'s request to {}. Nothing was run.",
                self.ctx.user, dialog.description
            ));
            self.record(
                Outcome::Rejected,
                request,
                format!("declined by {approver}"),
            );
            return Phase::Idle;
        }
        request.approved_by = Some(approver.to_string());
        self.say(format!("Approved by {approver}."));
        self.guarded(dialog, request)
    }

    pub(super) fn finished(
        &mut self,
        phase: Phase,
        memory: &mut Memory,
        last_dialog: &mut Option<LastDialog>,
        outcome: &ActionOutcome,
    ) -> Phase {
        let Phase::Executing { request } = phase else {
            // An outcome for a request this conversation no longer waits on.
            return phase;
        };
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let Behaviour::Run {
            action,
            success,
            failure,
            ..
        } = &dialog.behaviour
        else {
            return Phase::Idle;
        };
        if let (opsbot_spec::Action::Runbook(runbook), Some(_)) = (action, &request.runbook) {
            let phase = self.runbook_step_finished(dialog, runbook, request.clone(), outcome);
            let succeeded = self.effects.iter().any(|e| {
                matches!(e, Effect::Record(r) if r.disposition == Outcome::Succeeded && r.request.id == request.id)
            });
            if succeeded {
                self.remember(dialog, &request, memory, last_dialog);
            }
            return phase;
        }
        let mut vars = self.vars(&request);
        let output = outcome
            .error
            .clone()
            .unwrap_or_else(|| outcome.output.trim().to_string());
        vars.insert("output".into(), output);
        vars.insert(
            "exit_code".into(),
            outcome
                .exit_code
                .map_or("none".to_string(), |c| c.to_string()),
        );
        vars.insert(
            "duration".into(),
            format!("{:.1}s", outcome.duration.as_secs_f64()),
        );
        if request.dry_run {
            return self.previewed(dialog, &request, &vars, outcome);
        }
        let template = if outcome.succeeded { success } else { failure };
        self.say(template.render(&vars).trim_end().to_string());
        if outcome.succeeded {
            self.remember(dialog, &request, memory, last_dialog);
        }
        Phase::Idle
    }

    /// A request that succeeded: its values and dialog, for follow-ups.
    fn remember(
        &self,
        dialog: &Dialog,
        request: &Request,
        memory: &mut Memory,
        last_dialog: &mut Option<LastDialog>,
    ) {
        *last_dialog = Some(LastDialog {
            dialog: dialog.name.clone(),
            at: self.ctx.now,
        });
        for slot in &dialog.slots {
            if let Some(v) = request.slots.get(&slot.name) {
                memory.insert(
                    slot.name.clone(),
                    Remembered {
                        entity: slot.entity.clone(),
                        value: v.value.clone(),
                        at: self.ctx.now,
                    },
                );
            }
        }
    }

    /// A dry run's preview finished: what would run, and what the preview
    /// showed. Nothing is remembered for follow-ups: nothing was done.
    fn previewed(
        &mut self,
        dialog: &Dialog,
        request: &Request,
        vars: &BTreeMap<String, String>,
        outcome: &ActionOutcome,
    ) -> Phase {
        let Behaviour::Run { action, .. } = &dialog.behaviour else {
            return Phase::Idle;
        };
        let plan = plan::build(dialog, action, vars, request, self.ctx.user, self.ctx.room);
        let shown = if outcome.succeeded {
            format!("The preview says:\n{}", vars["output"])
        } else {
            format!(
                "The preview failed (exit status {}): {}",
                vars["exit_code"], vars["output"]
            )
        };
        self.say(format!(
            "Dry run, nothing was changed. {}\n{shown}",
            plan.describe()
        ));
        Phase::Idle
    }

    pub(super) fn interrupted(&mut self, phase: Phase, started: bool) -> Phase {
        let Phase::Executing { request } = phase else {
            return phase;
        };
        if request.runbook.is_some() {
            return self.runbook_interrupted(request, started);
        }
        let description = self.description(&request.dialog);
        if !started {
            self.say(format!(
                "I was restarted before your request to {description} started, so nothing was run. Ask again if you still need it."
            ));
            self.record(
                Outcome::NotRun,
                request,
                "the bot restarted before the action started",
            );
            return Phase::Idle;
        }
        self.say(format!(
            "I lost track of your request to {description}: I was restarted while it ran, so I do not know whether it finished. Please check before asking again (`opsbot audit`)."
        ));
        self.record(
            Outcome::OutcomeUnknown,
            request,
            "the bot restarted while the action ran",
        );
        Phase::Idle
    }

    /// Drops a pending question, confirmation, code request or approval that
    /// waited too long. `u` is the message that arrived, if any.
    /// Returns `None` when the message was only an answer to the dropped
    /// question, so there is nothing more to do.
    pub(super) fn expire(&mut self, phase: Phase, u: Option<&Understanding>) -> Option<Phase> {
        let settings = &self.project.settings;
        let (request, limit) = match &phase {
            // A wait is the bot's, not an answer awaited: it never expires.
            Phase::RunbookPaused {
                pause: crate::state::Pause::Waiting { .. },
                ..
            } => return Some(phase),
            Phase::Collecting { request, .. } | Phase::Checking { request, .. } => {
                (request, settings.pending_expiry)
            }
            Phase::AwaitingConfirmation { request }
            | Phase::AwaitingCode { request }
            | Phase::AwaitingApproval { request }
            | Phase::RunbookPaused { request, .. } => (request, settings.confirmation_expiry),
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
        if let Phase::RunbookPaused { request, .. } = phase {
            self.runbook_expired(request);
            return self.after_expiry(u);
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
        self.after_expiry(u)
    }

    /// After a dropped request: the message that found it dropped is read
    /// afresh, unless it only answered the dropped question.
    fn after_expiry(&mut self, u: Option<&Understanding>) -> Option<Phase> {
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
}
