//! Runbooks: a confirmed request of a dialog with `steps:` runs them one by
//! one. Each program step is one `Effect::Run` whose outcome comes back as
//! `Input::ActionFinished`; a step whose `when:` does not hold is skipped; a
//! question pauses the run for the requester's yes or no; a failure stops,
//! continues or rolls back as the step says; a restart mid-run pauses it and
//! asks whether to retry the step, skip it or abort — never deciding alone.

use opsbot_spec::{Action, OnFailure, Runbook, RunbookStep, StepKind};

use super::*;
use crate::state::{Pause, RunbookRun, StepDone, StepStatus};

mod pause;
mod shown;

pub use shown::status;

/// The lock a conversation's runbook holds while it runs or waits in the
/// middle (its dialog's `lock:` with the request's values), if any.
pub fn lock_of(project: &Project, conversation: &Conversation) -> Option<String> {
    let request = match &conversation.phase {
        Phase::Executing { request } | Phase::RunbookPaused { request, .. } => request,
        _ => return None,
    };
    request.runbook.as_ref()?;
    let lock = project.dialogs.get(&request.dialog)?.lock.as_ref()?;
    let vars = variables(project, request, "", "", chrono_tz::Tz::UTC);
    Some(lock.render(&vars))
}

impl<'a> Step<'a> {
    /// The dialog and runbook of a stored runbook request; `None` when its
    /// dialog is gone (said) or no longer has steps.
    fn runbook_of(&mut self, request: &Request) -> Option<(&'a Dialog, &'a Runbook)> {
        let dialog = self.dialog_of(request)?;
        match &dialog.behaviour {
            Behaviour::Run {
                action: Action::Runbook(runbook),
                ..
            } => Some((dialog, runbook)),
            _ => None,
        }
    }

    /// A confirmed (and guarded) runbook request starts at its first step.
    pub(super) fn start_runbook(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        mut request: Request,
    ) -> Phase {
        request.runbook = Some(RunbookRun::default());
        self.next_step(dialog, runbook, request)
    }

    /// Goes on from the step the run is at: skips what its condition rules
    /// out, until a step runs, asks, or the runbook ends.
    fn next_step(&mut self, dialog: &Dialog, runbook: &Runbook, mut request: Request) -> Phase {
        loop {
            let run = request.runbook.clone().unwrap_or_default();
            let Some(step) = current(runbook, &run) else {
                return self.runbook_ended(dialog, runbook, request);
            };
            let vars = self.runbook_vars(&request, runbook);
            let description = step.description.render_known(&vars);
            if let Some(condition) = &step.when {
                match condition.holds(&vars) {
                    Ok(true) => {}
                    Ok(false) => {
                        let reason = format!("skipped: `{}` does not hold", condition.source());
                        self.step_done(
                            &mut request,
                            step,
                            description,
                            StepStatus::Skipped,
                            reason,
                        );
                        advance(&mut request);
                        continue;
                    }
                    Err(why) => {
                        let reason = format!("I could not decide whether to run it: {why}");
                        self.step_done(&mut request, step, description, StepStatus::Failed, reason);
                        return self.step_failed(dialog, runbook, request, step.on_failure);
                    }
                }
            }
            match &step.does {
                StepKind::Wait(wait) => {
                    let until =
                        self.ctx.now + chrono::Duration::from_std(*wait).unwrap_or_default();
                    return self.wait_until(dialog, runbook, request, until, "⏸", &description);
                }
                StepKind::Ask(question) => {
                    self.progress(dialog, runbook, &mut request, Some(("❓", &description)));
                    request.touched_at = self.ctx.now;
                    self.say(format!("{} (yes/no)", question.render(&vars)));
                    return Phase::RunbookPaused {
                        request,
                        pause: Pause::Question,
                    };
                }
                StepKind::Program(program) => {
                    // A value an earlier step did not give (it was skipped,
                    // or skipped after a restart) is never run as empty.
                    let missing: Vec<String> = program
                        .args
                        .iter()
                        .chain(program.env.values())
                        .flat_map(|t| t.placeholders())
                        .map(|(name, _)| name)
                        .filter(|name| !vars.contains_key(name))
                        .collect();
                    if !missing.is_empty() {
                        let names: Vec<&str> = missing.iter().map(String::as_str).collect();
                        let reason = format!(
                            "it needs {}, which no earlier step gave",
                            opsbot_spec::join_or(&names).replacen(" or ", " and ", 1)
                        );
                        self.step_done(&mut request, step, description, StepStatus::Failed, reason);
                        return self.step_failed(dialog, runbook, request, step.on_failure);
                    }
                    let needs_approval = step
                        .approval
                        .as_ref()
                        .is_some_and(|a| a.applies(&request.slot_values()));
                    let approved = request
                        .runbook
                        .as_ref()
                        .is_some_and(|r| r.step_approved_by.is_some());
                    if needs_approval && !approved {
                        return self.ask_step_approval(dialog, runbook, request, step, &vars);
                    }
                    let mut plan = plan::build(
                        dialog,
                        &Action::Program(program.clone()),
                        &vars,
                        &request,
                        self.ctx.user,
                        self.ctx.room,
                    );
                    if let plan::Plan::Program { env, .. } = &mut plan {
                        env.push(("OPSBOT_STEP".into(), step.name.clone()));
                    }
                    if let Some(run) = request.runbook.as_mut() {
                        run.runs += 1;
                    }
                    if let Some(run) = request.runbook.as_mut() {
                        run.runs += 1;
                    }
                    let mut attempt = match request
                        .runbook
                        .as_ref()
                        .and_then(|r| r.step_approved_by.as_ref())
                    {
                        Some(approver) => format!(" (approved by {approver})"),
                        None => String::new(),
                    };
                    if let (Some(until), Some(run)) = (step.until, request.runbook.as_mut()) {
                        if run.deadline.is_none() {
                            run.deadline = Some(
                                self.ctx.now
                                    + chrono::Duration::from_std(until.within).unwrap_or_default(),
                            );
                            run.attempts = 0;
                        }
                        run.attempts += 1;
                        if run.attempts > 1 {
                            attempt = format!(" (try {})", run.attempts);
                        }
                    }
                    self.progress(
                        dialog,
                        runbook,
                        &mut request,
                        Some(("⏳", &format!("{description}{attempt} …"))),
                    );
                    self.effects.push(Effect::Run {
                        plan,
                        request: request.clone(),
                    });
                    return Phase::Executing { request };
                }
            }
        }
    }

    /// The run could not start: another conversation's run holds its lock
    /// (the store refused the step that started it, so nothing of that
    /// step was kept or run).
    pub(super) fn locked(&mut self, phase: Phase, lock: &str, holder: &str) -> Phase {
        let (Phase::Executing { request } | Phase::RunbookPaused { request, .. }) = phase else {
            return phase;
        };
        let description = self.description(&request.dialog);
        let why = format!("{holder}'s run holds “{lock}”");
        self.say(format!(
            "I did not start your runbook to {description}: {why}, and two runs on “{lock}” never interleave; nothing was run. Ask again when it has finished (“what is running?” shows it)."
        ));
        self.explain(
            format!("I did not start it because {why}."),
            Some(&request.dialog),
        );
        self.record(Outcome::Cancelled, request, format!("not started: {why}"));
        Phase::Idle
    }

    /// The step that ran came back: its outputs are read, and the run goes on,
    /// or handles the failure as the step says.
    pub(super) fn runbook_step_finished(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        mut request: Request,
        outcome: &ActionOutcome,
    ) -> Phase {
        let run = request.runbook.clone().unwrap_or_default();
        let Some(step) = current(runbook, &run) else {
            return self.runbook_ended(dialog, runbook, request);
        };
        let vars = self.runbook_vars(&request, runbook);
        let description = step.description.render_known(&vars);
        let output = outcome
            .error
            .clone()
            .unwrap_or_else(|| outcome.output.trim().to_string());
        let mut outputs = BTreeMap::new();
        let mut missing = Vec::new();
        if outcome.succeeded {
            for wanted in &step.outputs {
                match wanted.read(&outcome.output) {
                    Some(value) => {
                        outputs.insert(wanted.name.clone(), value);
                    }
                    None => missing.push(wanted.name.as_str()),
                }
            }
        }
        // A value a later step or condition needs and did not get is the
        // step's failure: nothing goes on with a guess.
        let (mut status, mut output) = match (outcome.succeeded, missing.is_empty()) {
            (true, true) => (StepStatus::Succeeded, output),
            (true, false) => (
                StepStatus::Failed,
                format!(
                    "its output gave no {}: {}",
                    opsbot_spec::join_or(&missing).replacen(" or ", " and ", 1),
                    output.chars().take(200).collect::<String>()
                ),
            ),
            (false, _) => (StepStatus::Failed, output),
        };
        // An `until:` step that failed tries again while its time lasts.
        if let (StepStatus::Failed, Some(until)) = (status, step.until) {
            let run = request.runbook.clone().unwrap_or_default();
            let next = self.ctx.now + chrono::Duration::from_std(until.every).unwrap_or_default();
            if run.deadline.is_some_and(|deadline| next <= deadline) {
                let why = output.lines().next().unwrap_or_default().to_string();
                let shown = opsbot_spec::types::display_time(next, self.ctx.time_zone);
                let text = format!(
                    "{description}: try {} failed ({why}); again at {shown}",
                    run.attempts
                );
                return self.wait_until(dialog, runbook, request, next, "↻", &text);
            }
            if run.attempts > 1 {
                output = format!(
                    "it did not succeed within {} ({} tries): {output}",
                    humantime::format_duration(until.within),
                    run.attempts
                );
            }
            status = StepStatus::Failed;
        }
        if let Some(run) = request.runbook.as_mut() {
            run.deadline = None;
            run.attempts = 0;
            run.done.push(StepDone {
                name: step.name.clone(),
                description,
                rollback: run.rolling_back,
                status,
                outputs,
                output,
                exit_code: outcome.exit_code,
                seconds: outcome.duration.as_secs_f64(),
                approved_by: run.step_approved_by.take(),
            });
        }
        if status == StepStatus::Failed {
            return self.step_failed(dialog, runbook, request, step.on_failure);
        }
        advance(&mut request);
        self.next_step(dialog, runbook, request)
    }

    /// A failed step (or a question answered no): go on, roll back or stop.
    fn step_failed(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        mut request: Request,
        policy: OnFailure,
    ) -> Phase {
        let Some(run) = request.runbook.as_mut() else {
            return Phase::Idle;
        };
        let failed = run.done.last().map(|d| d.description.clone());
        match policy {
            OnFailure::Continue => {
                advance(&mut request);
                self.next_step(dialog, runbook, request)
            }
            OnFailure::Rollback if !run.rolling_back => {
                run.failed = failed;
                run.rolling_back = true;
                run.at = 0;
                self.next_step(dialog, runbook, request)
            }
            _ => {
                if run.failed.is_none() {
                    run.failed = failed;
                }
                self.runbook_ended(dialog, runbook, request)
            }
        }
    }

    /// The last step is done, or the run stopped: the progress message is
    /// brought up to date, the result said and recorded.
    fn runbook_ended(&mut self, dialog: &Dialog, runbook: &Runbook, mut request: Request) -> Phase {
        let Behaviour::Run {
            success, failure, ..
        } = &dialog.behaviour
        else {
            return Phase::Idle;
        };
        let run = request.runbook.clone().unwrap_or_default();
        self.progress(dialog, runbook, &mut request, None);
        let mut vars = self.runbook_vars(&request, runbook);
        let main: Vec<&StepDone> = run.done.iter().filter(|d| !d.rollback).collect();
        // The step that stopped the run, else the last that ran.
        let stopper = main
            .iter()
            .rev()
            .find(|d| matches!(d.status, StepStatus::Failed | StepStatus::No));
        let last = stopper.or_else(|| {
            main.iter()
                .rev()
                .find(|d| d.exit_code.is_some() || d.status == StepStatus::Succeeded)
        });
        vars.insert(
            "output".into(),
            last.map(|d| d.output.clone()).unwrap_or_default(),
        );
        vars.insert(
            "exit_code".into(),
            last.and_then(|d| d.exit_code)
                .map_or("none".to_string(), |c| c.to_string()),
        );
        let seconds: f64 = run.done.iter().map(|d| d.seconds).sum();
        vars.insert("duration".into(), format!("{seconds:.1}s"));
        vars.insert(
            opsbot_spec::FAILED_STEP_VAR.into(),
            capitalise(run.failed.as_deref().unwrap_or("")),
        );
        let succeeded = run.failed.is_none() && !run.aborted;
        let answered_no = stopper.is_some_and(|d| d.status == StepStatus::No);
        let mut text = if run.aborted {
            match &run.stopped_at {
                Some(step) => format!("Stopped as you asked, at “{step}”: {}.", ran_summary(&run)),
                None => format!("Stopped as you asked: {}.", ran_summary(&run)),
            }
        } else if answered_no && run.rolling_back {
            format!("Stopped after your no: {}.", ran_summary(&run))
        } else if answered_no {
            format!(
                "Stopped after your no; nothing more was run: {}.",
                ran_summary(&run)
            )
        } else if succeeded {
            success.render(&vars).trim_end().to_string()
        } else {
            failure.render(&vars).trim_end().to_string()
        };
        let rolled_back: Vec<String> = run
            .done
            .iter()
            .filter(|d| d.rollback)
            .map(|d| format!("{} {}", d.status.mark(), d.description))
            .collect();
        if run.rolling_back {
            if rolled_back.is_empty() {
                text.push_str("\nNo rollback step applied.");
            } else {
                text.push_str(&format!("\nRolled back: {}.", rolled_back.join(" · ")));
            }
        }
        self.say(text);
        let disposition = match (run.aborted || answered_no, succeeded) {
            (true, _) => Outcome::Cancelled,
            (false, true) => Outcome::Succeeded,
            (false, false) => Outcome::Failed,
        };
        let reason = format!("runbook: {}", ran_summary(&run));
        self.record(disposition, request, reason);
        Phase::Idle
    }

    /// The request's variables and every finished step's values.
    fn runbook_vars(&self, request: &Request, runbook: &Runbook) -> BTreeMap<String, String> {
        let mut vars = self.vars(request);
        for step in runbook.all_steps() {
            for flag in opsbot_spec::STEP_FLAGS {
                vars.insert(format!("steps.{}.{flag}", step.name), "false".into());
            }
        }
        for done in request.runbook.iter().flat_map(|r| &r.done) {
            let ran = !matches!(done.status, StepStatus::Skipped);
            let prefix = format!("steps.{}", done.name);
            vars.insert(format!("{prefix}.ran"), ran.to_string());
            vars.insert(
                format!("{prefix}.succeeded"),
                done.status.succeeded().to_string(),
            );
            if done.exit_code.is_some() || done.status == StepStatus::Succeeded {
                vars.insert(format!("{prefix}.output"), done.output.clone());
                vars.insert(
                    format!("{prefix}.exit_code"),
                    done.exit_code.map_or("none".into(), |c| c.to_string()),
                );
            }
            for (name, value) in &done.outputs {
                vars.insert(format!("{prefix}.{name}"), value.clone());
            }
        }
        vars
    }

    /// Records a step that ended without running a program.
    fn step_done(
        &mut self,
        request: &mut Request,
        step: &RunbookStep,
        description: String,
        status: StepStatus,
        output: String,
    ) {
        if let Some(run) = request.runbook.as_mut() {
            run.done.push(StepDone {
                name: step.name.clone(),
                description,
                rollback: run.rolling_back,
                status,
                outputs: BTreeMap::new(),
                output,
                exit_code: None,
                seconds: 0.0,
                approved_by: run.step_approved_by.take(),
            });
        }
    }
}

/// The step a run is at.
fn current<'r>(runbook: &'r Runbook, run: &RunbookRun) -> Option<&'r RunbookStep> {
    let steps = if run.rolling_back {
        &runbook.rollback
    } else {
        &runbook.steps
    };
    steps.get(run.at)
}

fn step_number(runbook: &Runbook, run: &RunbookRun) -> String {
    let total = if run.rolling_back {
        runbook.rollback.len()
    } else {
        runbook.steps.len()
    };
    let prefix = if run.rolling_back { "rollback " } else { "" };
    format!("{prefix}{}/{total}", run.at + 1)
}

fn advance(request: &mut Request) {
    if let Some(run) = request.runbook.as_mut() {
        run.at += 1;
    }
}

/// "2 of 4 steps ran: ✔ check health · ✘ switch traffic".
fn ran_summary(run: &RunbookRun) -> String {
    let main: Vec<&StepDone> = run.done.iter().filter(|d| !d.rollback).collect();
    if main.is_empty() {
        return "no step had run".into();
    }
    main.iter()
        .map(|d| format!("{} {}", d.status.mark(), d.description))
        .collect::<Vec<_>>()
        .join(" · ")
}
