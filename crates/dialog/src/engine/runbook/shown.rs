//! How a runbook is shown: its steps in a confirmation, every step's exact
//! command line in a dry run, and the progress message as the steps go.

use opsbot_spec::{Action, Runbook, RunbookStep, StepKind};

use super::*;

impl<'a> Step<'a> {
    /// The steps as a confirmation lists them: "1 check lag · 2 promote
    /// pg-main-3 (if …)".
    pub(in crate::engine) fn runbook_plan(&self, runbook: &Runbook, request: &Request) -> String {
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
    pub(in crate::engine) fn runbook_dry_run(
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
        // What a value no step has given yet is called in a plan.
        let needs = |templates: Vec<&opsbot_spec::Template>| -> String {
            let unknown: Vec<String> = templates
                .into_iter()
                .flat_map(|t| t.placeholders())
                .map(|(name, _)| name)
                .filter(|name| name.starts_with("steps."))
                .collect();
            if unknown.is_empty() {
                return String::new();
            }
            let names: Vec<&str> = unknown.iter().map(String::as_str).collect();
            format!(
                "needs {} when it runs",
                opsbot_spec::join_or(&names).replacen(" or ", " and ", 1)
            )
        };
        // The environment every program step gets, said once.
        let mut common: Option<(Vec<(String, String)>, std::path::PathBuf)> = None;
        let mut list = |steps: &[RunbookStep]| -> Vec<String> {
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
                        StepKind::Wait(wait) => {
                            format!("wait {}", humantime::format_duration(*wait))
                        }
                        StepKind::Ask(q) => {
                            let needed = needs(vec![q]);
                            let needed = if needed.is_empty() {
                                needed
                            } else {
                                format!(" ({needed})")
                            };
                            format!("ask “{}”{needed}", q.render_known(&vars))
                        }
                        StepKind::Program(p) => {
                            let plan = plan::build(
                                dialog,
                                &Action::Program(p.clone()),
                                &vars,
                                request,
                                self.ctx.user,
                                self.ctx.room,
                            );
                            let own: Vec<String> = p
                                .env
                                .iter()
                                .map(|(k, t)| {
                                    format!("{k}={}", plan::quote_for_display(&t.render(&vars)))
                                })
                                .collect();
                            if let (None, plan::Plan::Program { env, workdir, .. }) =
                                (&common, &plan)
                            {
                                let shared = env
                                    .iter()
                                    .filter(|(k, _)| !p.env.contains_key(k))
                                    .cloned()
                                    .collect();
                                common = Some((shared, workdir.clone()));
                            }
                            let mut notes =
                                vec![needs(p.args.iter().chain(p.env.values()).collect())];
                            notes
                                .push(format!("timeout {}", humantime::format_duration(p.timeout)));
                            if !own.is_empty() {
                                notes.push(format!("also {}", own.join(" ")));
                            }
                            notes.retain(|n| !n.is_empty());
                            format!("run {} ({})", plan.command_line(), notes.join("; "))
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
        let steps = list(&runbook.steps);
        let rollback = list(&runbook.rollback);
        let mut text = format!(
            "Dry run, nothing was run. The runbook to {} would:\n{}",
            self.describe(dialog, request),
            steps.join("\n")
        );
        if !rollback.is_empty() {
            text.push_str(&format!("\nand to roll back:\n{}", rollback.join("\n")));
        }
        if let Some((env, workdir)) = common {
            let env: Vec<String> = env
                .iter()
                .filter(|(k, _)| k != "OPSBOT_STEP")
                .map(|(k, v)| format!("{k}={}", plan::quote_for_display(v)))
                .collect();
            text.push_str(&format!(
                "\nEach program runs in {} with the environment {} and OPSBOT_STEP, the step's name.",
                workdir.display(),
                env.join(" ")
            ));
        }
        text
    }

    /// The progress message: every step so far, and the one now running or
    /// asking (`now`), or none when the run ended.
    pub(super) fn progress(
        &mut self,
        dialog: &Dialog,
        runbook: &Runbook,
        request: &mut Request,
        now: Option<(&str, &str)>,
    ) {
        let Some(run) = request.runbook.as_ref() else {
            return;
        };
        let (entries, latest) = entries(runbook, run, now);
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

/// The progress message's entries — every step so far, and the one now
/// running or waiting (`now`: its mark and text) — and what a door that
/// cannot edit says: the steps since the last message that did not simply
/// succeed, and the one now.
fn entries(
    runbook: &Runbook,
    run: &RunbookRun,
    now: Option<(&str, &str)>,
) -> (Vec<String>, Vec<String>) {
    let count = |rollback: bool| {
        if rollback {
            runbook.rollback.len()
        } else {
            runbook.steps.len()
        }
    };
    let mut numbers = (0usize, 0usize);
    let mut entries: Vec<String> = Vec::new();
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
    (entries, latest)
}

/// How far a conversation's request is, for "what is running?": `None`
/// when nothing of it runs or waits in the middle of a run. A runbook's
/// steps so far and the current one; one action, that it runs.
pub fn status(
    project: &Project,
    conversation: &Conversation,
    zone: chrono_tz::Tz,
) -> Option<String> {
    let (request, pause) = match &conversation.phase {
        Phase::Executing { request } => (request, None),
        Phase::RunbookPaused { request, pause } => (request, Some(*pause)),
        _ => return None,
    };
    let dialog = project.dialogs.get(&request.dialog)?;
    let what = super::describe(dialog, request);
    let (
        Behaviour::Run {
            action: Action::Runbook(runbook),
            ..
        },
        Some(run),
    ) = (&dialog.behaviour, &request.runbook)
    else {
        return Some(format!("request to {what}: running"));
    };
    let step = if run.rolling_back {
        &runbook.rollback
    } else {
        &runbook.steps
    }
    .get(run.at);
    let vars = crate::plan::variables(request, "", "", &project.settings.name);
    let description = step
        .map(|s| s.description.render_known(&vars))
        .unwrap_or_default();
    let now = match pause {
        None => ("⏳", format!("{description} …")),
        Some(Pause::Question) => ("❓", format!("{description} (waits for a yes or no)")),
        Some(Pause::Approval) => ("✋", format!("{description} (needs approval)")),
        Some(Pause::Waiting { until }) => (
            "⏸",
            format!(
                "{description} (until {})",
                opsbot_spec::types::display_time(until, zone)
            ),
        ),
        Some(Pause::Interrupted { .. }) => (
            "?",
            format!("{description} (interrupted by a restart: retry, skip or abort?)"),
        ),
    };
    let (entries, _) = entries(runbook, run, step.map(|_| (now.0, now.1.as_str())));
    Some(format!("runbook to {what}: {}", entries.join(" · ")))
}
