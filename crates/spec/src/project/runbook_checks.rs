//! `opsbot check` of a dialog's `steps:` and `rollback:`: each step a
//! program, a question or a wait; names usable in conditions, never repeated;
//! values used only after a step gives them; conditions, outputs, retries,
//! approvals and failure policies that make sense — every mistake with its
//! file, line and column.

use super::checker::Checker;
use super::runbooks::*;
use super::source::*;
use super::*;

/// The template and condition variables a step's values go by.
fn step_variables(step: &str, outputs: &[String], flags: bool) -> Vec<String> {
    let mut names: Vec<String> = STEP_VARS
        .iter()
        .map(|v| format!("steps.{step}.{v}"))
        .collect();
    names.extend(outputs.iter().map(|o| format!("steps.{step}.{o}")));
    if flags {
        names.extend(STEP_FLAGS.iter().map(|v| format!("steps.{step}.{v}")));
    }
    names
}

/// A step or output name conditions can read: letters, digits and `_`.
fn is_plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Checker<'_> {
    /// A dialog's `steps:` and `rollback:`; also returns the variables its
    /// result messages may use besides the usual ones.
    pub(super) fn check_runbook(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawDialog,
        steps: &[raw::RawStep],
        base_vars: &[&str],
    ) -> Option<(Runbook, Vec<String>)> {
        let before = self.diagnostics.len();
        let at = file.index.locate(&format!("{path}.steps"));
        if steps.is_empty() {
            self.diagnostics.push(
                at.clone(),
                format!("dialog `{name}` has no steps; expected at least one step under `steps:`"),
            );
        }
        if raw.preview.is_some() {
            self.diagnostics.push(file.index.locate(&format!("{path}.preview")), format!("dialog `{name}` has `steps`, so `preview` has no one action to preview; a runbook's dry run shows every step's plan"));
        }
        if raw.read_only {
            self.diagnostics.push(at.clone(), format!("dialog `{name}` has `steps` and `read_only: true`; expected a runbook to be confirmed (read-only dialogs run one action)"));
        }
        let has_rollback = !raw.rollback.is_empty();
        let all: Vec<String> = steps
            .iter()
            .chain(&raw.rollback)
            .map(|s| s.name.clone())
            .collect();
        let mut known: Vec<String> = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut checked = Vec::new();
        for (i, step) in steps.iter().enumerate() {
            let step_path = format!("{path}.steps.{i}");
            let vars: Vec<&str> = base_vars
                .iter()
                .copied()
                .chain(known.iter().map(String::as_str))
                .collect();
            let checked_step = self.check_step(
                file,
                &step_path,
                step,
                (&vars, &names, &all),
                has_rollback,
                false,
            );
            // A misnamed or repeated step gives no values to name.
            if is_plain_name(&step.name) && !names.contains(&step.name) {
                let outputs: Vec<String> = step.outputs.keys().cloned().collect();
                known.extend(step_variables(&step.name, &outputs, true));
            }
            names.push(step.name.clone());
            checked.extend(checked_step);
        }
        // Rollback steps may name every step's values; a step that did not
        // run has none, so they guard with `steps.NAME.ran`.
        let mut rollback_vars: Vec<String> = known.clone();
        let mut rollback = Vec::new();
        for (i, step) in raw.rollback.iter().enumerate() {
            let step_path = format!("{path}.rollback.{i}");
            let vars: Vec<&str> = base_vars
                .iter()
                .copied()
                .chain(rollback_vars.iter().map(String::as_str))
                .collect();
            let checked_step =
                self.check_step(file, &step_path, step, (&vars, &names, &all), false, true);
            if is_plain_name(&step.name) && !names.contains(&step.name) {
                let outputs: Vec<String> = step.outputs.keys().cloned().collect();
                rollback_vars.extend(step_variables(&step.name, &outputs, true));
            }
            names.push(step.name.clone());
            rollback.extend(checked_step);
        }
        let mut result_vars = known;
        result_vars.push(FAILED_STEP_VAR.to_string());
        (self.diagnostics.len() == before).then_some((
            Runbook {
                steps: checked,
                rollback,
            },
            result_vars,
        ))
    }

    /// One step: a program or a question, its condition, outputs and
    /// failure policy.
    fn check_step(
        &mut self,
        file: &SourceFile,
        path: &str,
        raw: &raw::RawStep,
        (vars, earlier, all): (&[&str], &[String], &[String]),
        has_rollback: bool,
        in_rollback: bool,
    ) -> Option<RunbookStep> {
        let before = self.diagnostics.len();
        let at = file.index.locate(path);
        let name = raw.name.as_str();
        // Step values named before their step gives them are told as such;
        // the template checks below then take them as known.
        let misplaced = self.check_step_values(file, path, raw, vars, earlier, all);
        let extended: Vec<&str> = vars
            .iter()
            .copied()
            .chain(misplaced.iter().map(String::as_str))
            .collect();
        let vars = extended.as_slice();
        if !is_plain_name(name) {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.name")),
                format!("`{name}` is not a usable step name; expected letters, digits and '_' (conditions read `steps.{name}.…`)"),
            );
        } else if earlier.iter().any(|e| e == name) {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.name")),
                format!(
                    "step `{name}` is named twice; expected each step (and rollback step) once"
                ),
            );
        }
        for output in raw.outputs.keys() {
            if !is_plain_name(output)
                || STEP_VARS.contains(&output.as_str())
                || STEP_FLAGS.contains(&output.as_str())
            {
                self.diagnostics.push(
                    file.index.locate(&format!("{path}.outputs.{output}")),
                    format!("`{output}` is not a usable output name; expected letters, digits and '_', not one of {}", join_or(&[STEP_VARS, STEP_FLAGS].concat())),
                );
            }
        }
        let wait = raw
            .wait
            .as_ref()
            .and_then(|text| self.check_wait(file, &format!("{path}.wait"), text));
        let until = raw.until.as_ref().and_then(|until| {
            let every = self.check_wait(file, &format!("{path}.until.every"), &until.every)?;
            let within = self.check_wait(file, &format!("{path}.until.within"), &until.within)?;
            if within < every {
                self.diagnostics.push(file.index.locate(&format!("{path}.until")), format!("step `{name}` tries again every {} but only for {}; expected `within` at least `every`", until.every, until.within));
            }
            Some(Until { every, within })
        });
        if raw.until.is_some() && raw.program.is_none() {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.until")),
                format!("step `{name}` has `until` but no program to run again"),
            );
        }
        let approval = raw.approval.as_ref().map(|a| {
            let approval_at = file.index.locate(&format!("{path}.approval"));
            if a.groups.is_empty() {
                self.diagnostics.push(
                    approval_at.clone(),
                    "approval names no groups; expected `groups: [approvers]`",
                );
            }
            self.check_groups(&a.groups, &approval_at);
            for slot in a.when.keys().filter(|s| !vars.contains(&s.as_str())) {
                self.diagnostics.push(
                    approval_at.clone(),
                    format!("approval names unknown slot `{slot}`; expected one of the dialog's slots"),
                );
            }
            if raw.program.is_none() || in_rollback {
                self.diagnostics.push(approval_at.clone(), format!("step `{name}` has `approval` but is no program step of the runbook (a question, a wait and the rollback are not approved)"));
            }
            Approval {
                groups: a.groups.iter().cloned().collect(),
                when: a.when.clone(),
            }
        });
        if raw.wait.is_some() && in_rollback {
            self.diagnostics.push(at.clone(), format!("rollback step `{name}` waits; expected rollback steps to be programs (a rollback runs without waiting)"));
        }
        // Fields only a program step has, on a question or a wait.
        let has_program_fields = !raw.args.is_empty()
            || !raw.env.is_empty()
            || raw.timeout.is_some()
            || raw.workdir.is_some()
            || !raw.outputs.is_empty();
        let does = match (&raw.program, &raw.ask, &raw.wait) {
            (None, None, Some(_)) => {
                if has_program_fields {
                    self.diagnostics.push(at.clone(), format!("step `{name}` waits, so it has no program for `args`, `env`, `timeout`, `workdir` or `outputs`"));
                }
                wait.map(StepKind::Wait)
            }
            (Some(program), None, None) => {
                let action = raw::RawAction {
                    program: Some(program.clone()),
                    args: raw.args.clone(),
                    env: raw.env.clone(),
                    timeout: raw.timeout.clone(),
                    workdir: raw.workdir.clone(),
                    show_audit: None,
                    unsafe_shell_command_string: raw.unsafe_shell_command_string,
                };
                self.check_program(file, path, program, &action, vars)
                    .map(StepKind::Program)
            }
            (None, Some(question), None) => {
                if in_rollback {
                    self.diagnostics.push(at.clone(), format!("rollback step `{name}` asks a question; expected rollback steps to be programs (a rollback runs without waiting)"));
                }
                if has_program_fields {
                    self.diagnostics.push(at.clone(), format!("step `{name}` asks a question, so it has no program for `args`, `env`, `timeout`, `workdir` or `outputs`"));
                }
                self.check_template(file, &format!("{path}.ask"), question, vars)
                    .map(StepKind::Ask)
            }
            _ => {
                self.diagnostics.push(
                    at.clone(),
                    format!("step `{name}` must have exactly one of `program`, `ask` or `wait`"),
                );
                None
            }
        };
        let description = match (&raw.description, &raw.program, &raw.wait) {
            (Some(d), _, _) => self.check_template(file, &format!("{path}.description"), d, vars),
            (None, Some(program), _) => Template::parse(&format!("run {program}")).ok(),
            (None, None, Some(wait)) => Template::parse(&format!("wait {wait}")).ok(),
            (None, None, None) => Template::parse("ask you whether to go on").ok(),
        };
        let when = raw.when.as_ref().and_then(|source| {
            let when_at = file.index.locate(&format!("{path}.when"));
            match Condition::parse(source) {
                Ok(condition) => {
                    for variable in condition.variables() {
                        if !vars.contains(&variable.as_str()) {
                            self.diagnostics.push(when_at.clone(), format!("condition `{source}` names `{variable}`, which no slot or earlier step gives; expected one of {}", join_or(vars)));
                        }
                    }
                    Some(condition)
                }
                Err(e) => {
                    self.diagnostics.push(when_at, format!("condition `{source}` does not parse ({e}); expected an expression such as `steps.check_lag.seconds < 5` (text in double quotes)"));
                    None
                }
            }
        });
        let mut outputs = Vec::new();
        for (output, source) in &raw.outputs {
            let out_at = file.index.locate(&format!("{path}.outputs.{output}"));
            let from = match (&source.json, &source.regex) {
                (Some(_), Some(_)) | (None, None) => {
                    self.diagnostics.push(out_at, format!("output `{output}` must have exactly one of `json` (a field path) or `regex`"));
                    continue;
                }
                (Some(field), None) => {
                    let parts: Vec<String> = field.split('.').map(str::to_string).collect();
                    if parts.iter().any(String::is_empty) {
                        self.diagnostics.push(out_at, format!("`{field}` is not a JSON field path; expected names separated by dots, such as `lag.seconds`"));
                        continue;
                    }
                    OutputSource::Json(parts)
                }
                (None, Some(pattern)) => match Regex::new(pattern) {
                    Ok(regex) => OutputSource::Regex(regex),
                    Err(e) => {
                        self.diagnostics.push(
                            out_at,
                            format!("`{pattern}` is not a regular expression: {e}"),
                        );
                        continue;
                    }
                },
            };
            outputs.push(StepOutput {
                name: output.clone(),
                from,
            });
        }
        let on_failure = match raw.on_failure.as_deref() {
            None | Some("stop") => OnFailure::Stop,
            Some("continue") => OnFailure::Continue,
            Some("rollback") if in_rollback => {
                self.diagnostics.push(
                    file.index.locate(&format!("{path}.on_failure")),
                    format!(
                        "rollback step `{name}` cannot roll back; expected `stop` or `continue`"
                    ),
                );
                OnFailure::Stop
            }
            Some("rollback") if !has_rollback => {
                self.diagnostics.push(file.index.locate(&format!("{path}.on_failure")), format!("step `{name}` rolls back on failure, but the dialog has no `rollback:` steps; expected them, or `on_failure: stop`"));
                OnFailure::Stop
            }
            Some("rollback") => OnFailure::Rollback,
            Some(other) => {
                self.diagnostics.push(file.index.locate(&format!("{path}.on_failure")), format!("`{other}` is not a failure policy; expected `stop`, `continue` or `rollback`"));
                OnFailure::Stop
            }
        };
        let (does, description) = (does?, description?);
        (self.diagnostics.len() == before).then(|| RunbookStep {
            name: name.to_string(),
            description,
            does,
            when,
            outputs,
            on_failure,
            until,
            approval,
        })
    }

    /// Every `steps.NAME.VALUE` a step's templates and condition name that
    /// is not known where it is used, told with why: its step comes later,
    /// there is no such step, or the step gives no such value. Returns them.
    fn check_step_values(
        &mut self,
        file: &SourceFile,
        path: &str,
        raw: &raw::RawStep,
        vars: &[&str],
        earlier: &[String],
        all: &[String],
    ) -> Vec<String> {
        let mut fields: Vec<(String, &str)> = Vec::new();
        if let Some(d) = &raw.description {
            fields.push((format!("{path}.description"), d));
        }
        if let Some(a) = &raw.ask {
            fields.push((format!("{path}.ask"), a));
        }
        for (i, a) in raw.args.iter().enumerate() {
            fields.push((format!("{path}.args.{i}"), a));
        }
        for (k, v) in &raw.env {
            fields.push((format!("{path}.env.{k}"), v));
        }
        let mut named: Vec<(Location, String)> = Vec::new();
        for (field, source) in &fields {
            let Ok(template) = Template::parse(source) else {
                continue;
            };
            for (placeholder, offset) in template.placeholders() {
                named.push((file.index.locate_in_scalar(field, offset), placeholder));
            }
        }
        if let Some(when) = &raw.when {
            if let Ok(condition) = Condition::parse(when) {
                let at = file.index.locate(&format!("{path}.when"));
                named.extend(condition.variables().into_iter().map(|v| (at.clone(), v)));
            }
        }
        let mut misplaced = Vec::new();
        for (at, placeholder) in named {
            let Some(rest) = placeholder.strip_prefix("steps.") else {
                continue;
            };
            if vars.contains(&placeholder.as_str()) {
                continue;
            }
            let (step, value) = rest.split_once('.').unwrap_or((rest, ""));
            let why = if earlier.iter().any(|e| e == step) {
                let given: Vec<&str> = vars
                    .iter()
                    .filter_map(|v| v.strip_prefix(&format!("steps.{step}.")))
                    .collect();
                format!(
                    "step `{step}` gives no `{value}`; it gives {}",
                    join_or(&given)
                )
            } else if all.iter().any(|s| s == step) || step == raw.name {
                format!("`{{{placeholder}}}` is used before step `{step}` gives it; a step may use only the values of the steps before it")
            } else {
                let mut names: Vec<&str> = Vec::new();
                for e in earlier {
                    if !names.contains(&e.as_str()) {
                        names.push(e);
                    }
                }
                if names.is_empty() {
                    format!("there is no step `{step}` before this one")
                } else {
                    format!(
                        "there is no step `{step}`; expected one of {}",
                        join_or(&names)
                    )
                }
            };
            self.diagnostics.push(at, why);
            misplaced.push(placeholder);
        }
        misplaced
    }

    /// A wait, an interval or a time limit: a duration within `WAIT_RANGE`.
    fn check_wait(&mut self, file: &SourceFile, path: &str, text: &str) -> Option<Duration> {
        let at = file.index.locate(path);
        match humantime::parse_duration(text) {
            Ok(d) => match guard::out_of_range(d, guard::WAIT_RANGE) {
                None => Some(d),
                Some(expected) => {
                    self.diagnostics
                        .push(at, format!("`{text}` is out of range; {expected}"));
                    None
                }
            },
            Err(_) => {
                self.diagnostics.push(
                    at,
                    format!("`{text}` is not a duration; expected one such as `30s` or `5m`"),
                );
                None
            }
        }
    }
}

#[cfg(test)]
#[path = "runbooks_tests.rs"]
mod checks;
