//! A runbook waiting for its requester or for its time: a question's yes
//! or no, retry/skip/abort after a restart, a wait kept in the store (the
//! scheduler brings the run back), an abort, and expiry.

use opsbot_spec::{Action, Runbook, StepKind};

use super::*;

impl<'a> Step<'a> {
    /// The requester's answer while a runbook waits: a question's yes or
    /// no, or after a restart: retry, skip or abort.
    pub(in crate::engine) fn runbook_answer(
        &mut self,
        mut request: Request,
        pause: Pause,
        u: &Understanding,
    ) -> Phase {
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let Behaviour::Run {
            action: Action::Runbook(runbook),
            ..
        } = &dialog.behaviour
        else {
            self.say(
                "That request's dialog no longer has steps, so I stopped it; nothing more was run.",
            );
            self.record(
                Outcome::Cancelled,
                request,
                "its dialog no longer has steps",
            );
            return Phase::Idle;
        };
        request.messages.push(u.text.clone());
        request.touched_at = self.ctx.now;
        let answer = phrases::classify(&u.text);
        let words = phrases::normalise(&u.text);
        let said = |options: &[&str]| {
            options
                .iter()
                .any(|o| words == *o || words.starts_with(&format!("{o} ")))
        };
        let run = request.runbook.clone().unwrap_or_default();
        let Some(step) = current(runbook, &run) else {
            return self.runbook_ended(dialog, runbook, request);
        };
        let vars = self.runbook_vars(&request, runbook);
        let description = step.description.render_known(&vars);
        match pause {
            Pause::Approval => {
                if answer == Answer::No {
                    return self.abort_runbook(dialog, runbook, request);
                }
                let groups = step_approvers(step);
                self.say(format!(
                    "The step “{description}” of your runbook waits for approval by a member of {groups} other than you (“approve {}”); say “abort” to stop the runbook.",
                    request.short_id()
                ));
                Phase::RunbookPaused { request, pause }
            }
            Pause::Waiting { until } => {
                if answer == Answer::No {
                    self.effects.push(Effect::Unschedule(request.id.clone()));
                    request.at = None;
                    return self.abort_runbook(dialog, runbook, request);
                }
                let shown = opsbot_spec::types::display_time(until, self.ctx.time_zone);
                self.say(format!(
                    "Your runbook to {} waits until {shown} ({description}), then goes on by itself; say “abort” to stop it there.",
                    self.description(&request.dialog)
                ));
                Phase::RunbookPaused { request, pause }
            }
            Pause::Question => match answer {
                Answer::Yes => {
                    self.step_done(
                        &mut request,
                        step,
                        description,
                        StepStatus::Yes,
                        String::new(),
                    );
                    advance(&mut request);
                    self.next_step(dialog, runbook, request)
                }
                Answer::No => {
                    self.step_done(
                        &mut request,
                        step,
                        description,
                        StepStatus::No,
                        "answered no".into(),
                    );
                    self.step_failed(dialog, runbook, request, step.on_failure)
                }
                _ => {
                    let question = match &step.does {
                        StepKind::Ask(q) => q.render(&vars),
                        StepKind::Program(_) | StepKind::Wait(_) => description,
                    };
                    self.say(format!("Please answer yes or no: {question} (yes/no)"));
                    Phase::RunbookPaused { request, pause }
                }
            },
            Pause::Interrupted { started } => {
                if said(&["retry", "try again", "run it again", "again"])
                    || (!started && answer == Answer::Yes)
                {
                    self.next_step(dialog, runbook, request)
                } else if said(&["skip", "skip it", "skip that", "skip the step"]) {
                    let status = if started {
                        StepStatus::Unknown
                    } else {
                        StepStatus::Skipped
                    };
                    self.step_done(
                        &mut request,
                        step,
                        description,
                        status,
                        "skipped by the requester after a restart".into(),
                    );
                    advance(&mut request);
                    self.next_step(dialog, runbook, request)
                } else if answer == Answer::No {
                    self.abort_runbook(dialog, runbook, request)
                } else {
                    self.say(self.interruption_question(&request, &description, started));
                    Phase::RunbookPaused { request, pause }
                }
            }
        }
    }

    /// A step that needs approval: the run waits, and the approvers are shown
    /// exactly what the step will run.
    pub(in crate::engine) fn ask_step_approval(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        mut request: Request,
        step: &opsbot_spec::RunbookStep,
        vars: &BTreeMap<String, String>,
    ) -> Phase {
        let description = step.description.render_known(vars);
        let StepKind::Program(program) = &step.does else {
            return Phase::Idle;
        };
        let plan = plan::build(
            dialog,
            &Action::Program(program.clone()),
            vars,
            &request,
            self.ctx.user,
            self.ctx.room,
        );
        self.progress(
            dialog,
            runbook,
            &mut request,
            Some(("✋", &format!("{description} (needs approval)"))),
        );
        request.touched_at = self.ctx.now;
        self.say(format!(
            "The step “{description}” of {}'s runbook to {} needs approval: a member of {} other than {} must say “approve {}” or “deny {}”. It runs: {}",
            self.ctx.user,
            dialog.description,
            step_approvers(step),
            self.ctx.user,
            request.short_id(),
            request.short_id(),
            plan.command_line()
        ));
        Phase::RunbookPaused {
            request,
            pause: Pause::Approval,
        }
    }

    /// Another member's decision on a step waiting for approval.
    pub(in crate::engine) fn step_approval(
        &mut self,
        mut request: Request,
        approver: &str,
        approve: bool,
    ) -> Phase {
        let Some((dialog, runbook)) = self.runbook_of(&request) else {
            return Phase::Idle;
        };
        let run = request.runbook.clone().unwrap_or_default();
        let Some(step) = current(runbook, &run) else {
            return self.runbook_ended(dialog, runbook, request);
        };
        let groups = step
            .approval
            .as_ref()
            .map(|a| a.groups.clone())
            .unwrap_or_default();
        let pause = Pause::Approval;
        if self.project.settings.same_person(approver, self.ctx.user) {
            self.say(format!(
                "You cannot approve a step of your own runbook; a member of {} other than you must.",
                step_approvers(step)
            ));
            return Phase::RunbookPaused { request, pause };
        }
        if !opsbot_spec::access::member_of_any(&self.project.settings.groups, approver, &groups) {
            self.say(format!(
                "{approver} is not a member of {}, so cannot decide on this step.",
                step_approvers(step)
            ));
            return Phase::RunbookPaused { request, pause };
        }
        let description = step
            .description
            .render_known(&self.runbook_vars(&request, runbook));
        if !approve {
            self.step_done(
                &mut request,
                step,
                description,
                StepStatus::Failed,
                format!("declined by {approver}"),
            );
            return self.step_failed(dialog, runbook, request, step.on_failure);
        }
        // The progress line names the approver as the step starts.
        if let Some(run) = request.runbook.as_mut() {
            run.step_approved_by = Some(approver.to_string());
        }
        self.next_step(dialog, runbook, request)
    }

    /// The run rests until `until`, kept as a scheduled job: the scheduler
    /// brings it back (`Input::Due`), also after a restart.
    pub(super) fn wait_until(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        mut request: Request,
        until: DateTime<Utc>,
        mark: &str,
        text: &str,
    ) -> Phase {
        let shown = opsbot_spec::types::display_time(until, self.ctx.time_zone);
        let text = if mark == "⏸" {
            format!("{text} (until {shown})")
        } else {
            text.to_string()
        };
        self.progress(dialog, runbook, &mut request, Some((mark, &text)));
        request.touched_at = self.ctx.now;
        request.at = Some(until);
        self.effects.push(Effect::Schedule(request.clone()));
        Phase::RunbookPaused {
            request,
            pause: Pause::Waiting { until },
        }
    }

    /// A runbook's wait is over (the scheduler fed its request back): the
    /// waiting step is done, or the `until:` step tries again.
    pub(in crate::engine) fn runbook_due(&mut self, phase: Phase, due: &Request) -> Phase {
        self.effects.push(Effect::Unschedule(due.id.clone()));
        let Phase::RunbookPaused {
            mut request,
            pause: Pause::Waiting { .. },
        } = phase
        else {
            // The run moved on (it was aborted): nothing waits for this.
            return phase;
        };
        if request.id != due.id {
            return Phase::RunbookPaused {
                request,
                pause: Pause::Waiting {
                    until: due.at.unwrap_or(self.ctx.now),
                },
            };
        }
        let Some((dialog, runbook)) = self.runbook_of(&request) else {
            return Phase::Idle;
        };
        request.at = None;
        let run = request.runbook.clone().unwrap_or_default();
        if let Some(step) = current(runbook, &run) {
            if matches!(step.does, StepKind::Wait(_)) {
                let description = step
                    .description
                    .render_known(&self.runbook_vars(&request, runbook));
                self.step_done(
                    &mut request,
                    step,
                    description,
                    StepStatus::Succeeded,
                    String::new(),
                );
                advance(&mut request);
            }
        }
        self.next_step(dialog, runbook, request)
    }

    /// The requester stopped a waiting runbook: the rollback steps run if
    /// there are any, then it ends.
    pub(super) fn abort_runbook(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        mut request: Request,
    ) -> Phase {
        let at = current(runbook, &request.runbook.clone().unwrap_or_default()).map(|step| {
            step.description
                .render_known(&self.runbook_vars(&request, runbook))
        });
        let Some(run) = request.runbook.as_mut() else {
            return Phase::Idle;
        };
        run.aborted = true;
        run.stopped_at = at;
        if !run.rolling_back
            && !runbook.rollback.is_empty()
            && run
                .done
                .iter()
                .any(|d| d.status.succeeded() || d.status == StepStatus::Unknown)
        {
            run.rolling_back = true;
            run.at = 0;
            return self.next_step(dialog, runbook, request);
        }
        self.runbook_ended(dialog, runbook, request)
    }

    /// The process restarted while a runbook's step was about to run or
    /// running: the run pauses and its requester decides.
    pub(in crate::engine) fn runbook_interrupted(
        &mut self,
        request: Request,
        started: bool,
    ) -> Phase {
        let Some((dialog, runbook)) = self.runbook_of(&request) else {
            return Phase::Idle;
        };
        let run = request.runbook.clone().unwrap_or_default();
        let Some(step) = current(runbook, &run) else {
            return self.runbook_ended(dialog, runbook, request);
        };
        let description = step
            .description
            .render(&self.runbook_vars(&request, runbook));
        if started {
            self.record(
                Outcome::OutcomeUnknown,
                request.clone(),
                format!(
                    "the bot restarted while step {} ({}) ran",
                    step_number(runbook, &run),
                    step.name
                ),
            );
        }
        let mut request = request;
        request.touched_at = self.ctx.now;
        self.say(self.interruption_question(&request, &description, started));
        Phase::RunbookPaused {
            request,
            pause: Pause::Interrupted { started },
        }
    }

    pub(super) fn interruption_question(
        &self,
        request: &Request,
        step: &str,
        started: bool,
    ) -> String {
        let ran = request
            .runbook
            .as_ref()
            .map(ran_summary)
            .unwrap_or_default();
        let what = self.description(&request.dialog);
        if started {
            format!("I was restarted while your runbook to {what} ran the step “{step}”, so I do not know whether that step finished ({ran}). Say “retry” to run it again, “skip” to go on without it, or “abort” to stop here.")
        } else {
            format!("I was restarted just before your runbook to {what} ran the step “{step}”; it did not start ({ran}). Say “retry” (or “yes”) to run it now, “skip” to go on without it, or “abort” to stop here.")
        }
    }

    /// A runbook that waited too long for its requester stops where it is.
    pub(in crate::engine) fn runbook_expired(&mut self, request: Request) -> Phase {
        let ran = request
            .runbook
            .as_ref()
            .map(ran_summary)
            .unwrap_or_default();
        let description = self.description(&request.dialog);
        let limit = humantime::format_duration(self.project.settings.confirmation_expiry);
        let said = format!("Your runbook to {description} waited more than {limit} for an answer, so I stopped it there; nothing more was run ({ran}).");
        self.say(said.clone());
        self.explain(said, Some(&request.dialog));
        self.record(
            Outcome::Expired,
            request,
            format!("no answer while the runbook waited; {ran}"),
        );
        Phase::Idle
    }
}

/// "dba or release-managers": who may approve a step.
fn step_approvers(step: &opsbot_spec::RunbookStep) -> String {
    let groups: Vec<&str> = step
        .approval
        .iter()
        .flat_map(|a| a.groups.iter().map(String::as_str))
        .collect();
    opsbot_spec::join_or(&groups)
}
