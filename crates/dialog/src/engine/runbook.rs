//! Runbooks: a confirmed request of a dialog with `steps:` runs them one by
//! one. Each program step is one `Effect::Run` whose outcome comes back as
//! `Input::ActionFinished`; a step whose `when:` does not hold is skipped; a
//! question pauses the run for the requester's yes or no; a failure stops,
//! continues or rolls back as the step says; a restart mid-run pauses it and
//! asks whether to retry the step, skip it or abort — never deciding alone.

use opsbot_spec::{Action, OnFailure, Runbook, RunbookStep, StepKind};

use super::*;
use crate::state::{Pause, RunbookRun, StepDone, StepStatus};

impl<'a> Step<'a> {
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
                    self.progress(
                        dialog,
                        runbook,
                        &mut request,
                        Some(("⏳", &format!("{description} …"))),
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
        let (status, output) = match (outcome.succeeded, missing.is_empty()) {
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
        if let Some(run) = request.runbook.as_mut() {
            run.done.push(StepDone {
                name: step.name.clone(),
                description,
                rollback: run.rolling_back,
                status,
                outputs,
                output,
                exit_code: outcome.exit_code,
                seconds: outcome.duration.as_secs_f64(),
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
            format!("Stopped as you asked: {}.", ran_summary(&run))
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

    /// The requester's answer while a runbook waits: a question's yes or
    /// no, or after a restart: retry, skip or abort.
    pub(super) fn runbook_answer(
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
                        StepKind::Program(_) => description,
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

    /// The requester stopped a waiting runbook: the rollback steps run if
    /// there are any, then it ends.
    fn abort_runbook(&mut self, dialog: &Dialog, runbook: &Runbook, mut request: Request) -> Phase {
        let Some(run) = request.runbook.as_mut() else {
            return Phase::Idle;
        };
        run.aborted = true;
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
    pub(super) fn runbook_interrupted(&mut self, request: Request, started: bool) -> Phase {
        let Some(dialog) = self.dialog_of(&request) else {
            return Phase::Idle;
        };
        let Behaviour::Run {
            action: Action::Runbook(runbook),
            ..
        } = &dialog.behaviour
        else {
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

    fn interruption_question(&self, request: &Request, step: &str, started: bool) -> String {
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
    pub(super) fn runbook_expired(&mut self, request: Request) -> Phase {
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

    /// The steps as a confirmation lists them: "1 check lag · 2 promote
    /// pg-main-3 (if …)".
    pub(super) fn runbook_plan(&self, runbook: &Runbook, request: &Request) -> String {
        let vars = self.vars(request);
        runbook
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let when = step
                    .when
                    .as_ref()
                    .map(|c| format!(" (if {})", c.source()))
                    .unwrap_or_default();
                format!("{} {}{when}", i + 1, step.description.render_known(&vars))
            })
            .collect::<Vec<_>>()
            .join(" · ")
    }

    /// What a dry run of a runbook shows: each step's command line and
    /// environment as far as they are known now.
    pub(super) fn runbook_dry_run(
        &self,
        dialog: &Dialog,
        runbook: &Runbook,
        request: &Request,
    ) -> String {
        let mut vars = self.vars(request);
        // Values no step has given yet stand as their names in the plan.
        for step in runbook.all_steps() {
            let outputs = step.outputs.iter().map(|o| o.name.as_str());
            for name in opsbot_spec::STEP_VARS.iter().copied().chain(outputs) {
                let var = format!("steps.{}.{name}", step.name);
                vars.insert(var.clone(), format!("{{{var}}}"));
            }
        }
        let list = |steps: &[RunbookStep]| -> Vec<String> {
            steps
                .iter()
                .enumerate()
                .map(|(i, step)| {
                    let when = step
                        .when
                        .as_ref()
                        .map(|c| format!(", only if {}", c.source()))
                        .unwrap_or_default();
                    let does = match &step.does {
                        StepKind::Ask(q) => format!("ask “{}”", q.render_known(&vars)),
                        StepKind::Program(p) => {
                            let plan = plan::build(
                                dialog,
                                &Action::Program(p.clone()),
                                &vars,
                                request,
                                self.ctx.user,
                                self.ctx.room,
                            );
                            let unknown: Vec<String> = p
                                .args
                                .iter()
                                .chain(p.env.values())
                                .flat_map(|t| t.placeholders())
                                .map(|(name, _)| name)
                                .filter(|name| name.starts_with("steps."))
                                .collect();
                            let waits = if unknown.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    " (needs {} when it runs)",
                                    opsbot_spec::join_or(
                                        &unknown.iter().map(String::as_str).collect::<Vec<_>>()
                                    )
                                    .replacen(" or ", " and ", 1)
                                )
                            };
                            format!("run {}{waits}", plan.command_line())
                        }
                    };
                    format!(
                        "{}. {}: {does}{when}",
                        i + 1,
                        step.description.render_known(&vars)
                    )
                })
                .collect()
        };
        let mut text = format!(
            "Dry run, nothing was run. The runbook to {} would:\n{}",
            self.describe(dialog, request),
            list(&runbook.steps).join("\n")
        );
        if !runbook.rollback.is_empty() {
            text.push_str(&format!(
                "\nand to roll back:\n{}",
                list(&runbook.rollback).join("\n")
            ));
        }
        text
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
            });
        }
    }

    /// The progress message: every step so far, and the one now running or
    /// asking (`now`), or none when the run ended.
    fn progress(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        request: &mut Request,
        now: Option<(&str, &str)>,
    ) {
        let Some(run) = request.runbook.as_ref() else {
            return;
        };
        let count = |rollback: bool| {
            if rollback {
                runbook.rollback.len()
            } else {
                runbook.steps.len()
            }
        };
        let mut numbers = (0usize, 0usize);
        let mut entries: Vec<String> = Vec::new();
        // What a door that cannot edit says: the steps since the last
        // message that did not simply succeed, and the one now running.
        let mut latest: Vec<String> = Vec::new();
        for (i, done) in run.done.iter().enumerate() {
            let n = if done.rollback {
                &mut numbers.1
            } else {
                &mut numbers.0
            };
            *n += 1;
            let prefix = if done.rollback { "rollback " } else { "" };
            // Seconds only where they tell something.
            let time = if done.seconds >= 1.0 {
                format!(" ({:.0}s)", done.seconds)
            } else {
                String::new()
            };
            let entry = format!(
                "{prefix}[{}/{}] {} {}{time}",
                *n,
                count(done.rollback),
                done.status.mark(),
                done.description
            );
            if i >= run.reported && !done.status.succeeded() {
                let why = if done.output.is_empty() {
                    String::new()
                } else {
                    format!(": {}", done.output.lines().next().unwrap_or_default())
                };
                latest.push(format!("{entry}{why}"));
            }
            entries.push(entry);
        }
        if let Some((mark, text)) = now {
            let prefix = if run.rolling_back { "rollback " } else { "" };
            let entry = format!(
                "{prefix}[{}/{}] {mark} {text}",
                run.at + 1,
                count(run.rolling_back)
            );
            latest.push(entry.clone());
            entries.push(entry);
        }
        let title = match &dialog.behaviour {
            Behaviour::Run {
                running: Some(running),
                ..
            } => running.render(&self.vars(request)),
            _ => capitalise(&dialog.description),
        };
        let whole = format!("{title}: {}", entries.join(" · "));
        let latest = latest.join("\n");
        self.effects.push(Effect::Progress { whole, latest });
        if let Some(run) = request.runbook.as_mut() {
            run.reported = run.done.len();
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
