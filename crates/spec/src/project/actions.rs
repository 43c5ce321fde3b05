//! Actions (and previews and lookup commands, checked the same way): a program
//! under the project (or allowed outside it) that exists and is executable,
//! never a shell command string, with templated arguments and environment, a
//! timeout in range and an existing working folder; or the built-in `show_audit`.

use super::checker::Checker;
use super::source::*;
use super::*;

impl Checker<'_> {
    /// The `field` (`action`, `preview`, `values_from`) under `dialog_path`.
    pub(super) fn check_action(
        &mut self,
        file: &SourceFile,
        dialog_path: &str,
        field: &str,
        dialog: &str,
        raw: &raw::RawAction,
        vars: &[&str],
    ) -> Option<Action> {
        let path = format!("{dialog_path}.{field}");
        match (&raw.program, &raw.show_audit) {
            (Some(_), Some(_)) | (None, None) => {
                self.diagnostics.push(file.index.locate(&path), format!("{field} of dialog `{dialog}` must have exactly one of `program` or `show_audit`"));
                None
            }
            (None, Some(show)) => self.check_show_audit(file, &path, show, vars),
            (Some(program), None) => self
                .check_program(file, &path, program, raw, vars)
                .map(Action::Program),
        }
    }

    fn check_show_audit(
        &mut self,
        file: &SourceFile,
        path: &str,
        show: &raw::RawShowAudit,
        vars: &[&str],
    ) -> Option<Action> {
        if let Some(intent) = show
            .intent
            .as_ref()
            .filter(|i| !self.intents.contains_key(*i))
        {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.show_audit.intent")),
                format!(
                    "`show_audit` names unknown intent `{intent}`; expected an intent under intents/"
                ),
            );
            return None;
        }
        let user = show
            .user
            .as_ref()
            .and_then(|t| self.check_template(file, &format!("{path}.show_audit.user"), t, vars));
        let since = show
            .since
            .as_ref()
            .and_then(|t| self.check_template(file, &format!("{path}.show_audit.since"), t, vars));
        Some(Action::ShowAudit(ShowAudit {
            intent: show.intent.clone(),
            user,
            since,
            all_outcomes: show.all_outcomes,
            limit: show.limit.clamp(1, 50),
        }))
    }

    /// A program action, or `None` when any of its checks found a mistake.
    pub(super) fn check_program(
        &mut self,
        file: &SourceFile,
        path: &str,
        program: &str,
        raw: &raw::RawAction,
        vars: &[&str],
    ) -> Option<ProgramAction> {
        let before = self.diagnostics.len();
        let program_path = self.root.join(program);
        self.check_program_file(file, path, program, &program_path, raw);
        let args: Vec<Template> = raw
            .args
            .iter()
            .enumerate()
            .filter_map(|(i, a)| self.check_template(file, &format!("{path}.args.{i}"), a, vars))
            .collect();
        let env = self.check_env(file, path, raw, vars);
        let timeout = self.check_timeout(file, path, raw);
        let workdir = self.root.join(raw.workdir.as_deref().unwrap_or("."));
        if !workdir.is_dir() {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.workdir")),
                format!(
                    "workdir `{}` is not a folder; expected a path relative to the project root",
                    raw.workdir.as_deref().unwrap_or(".")
                ),
            );
        }
        (self.diagnostics.len() == before).then(|| ProgramAction {
            program: program_path,
            program_display: program.to_string(),
            args,
            env,
            timeout,
            workdir,
        })
    }

    /// The program exists, is executable, lies under the project (or is
    /// allowed outside it) and is no shell or interpreter given a command string.
    fn check_program_file(
        &mut self,
        file: &SourceFile,
        path: &str,
        program: &str,
        program_path: &Path,
        raw: &raw::RawAction,
    ) {
        let at = file.index.locate(&format!("{path}.program"));
        match std::fs::metadata(program_path) {
            Ok(meta) if meta.is_file() => {
                use std::os::unix::fs::PermissionsExt;
                if meta.permissions().mode() & 0o111 == 0 {
                    self.diagnostics.push(at.clone(), format!("program `{program}` is not executable; expected `chmod +x {program}`"));
                }
            }
            _ => self.diagnostics.push(at.clone(), format!("program `{program}` does not exist; expected a path relative to the project root")),
        }
        if guard::outside_project(self.root, program_path) && !self.allows_outside(program_path) {
            self.diagnostics.push(at.clone(), format!("program `{program}` lies outside the project folder; expected a script under the project, or list it in `programs_outside_project:` in opsbot.yaml"));
        }
        if !raw.unsafe_shell_command_string {
            let resolved =
                std::fs::canonicalize(program_path).unwrap_or_else(|_| program_path.to_path_buf());
            if let Some(problem) = guard::shell_string_problem(program, &resolved, &raw.args) {
                self.diagnostics.push(at, problem);
            }
        }
    }

    /// Environment variable names in capitals, values as templates.
    fn check_env(
        &mut self,
        file: &SourceFile,
        path: &str,
        raw: &raw::RawAction,
        vars: &[&str],
    ) -> BTreeMap<String, Template> {
        let mut env = BTreeMap::new();
        for (key, value) in &raw.env {
            let valid = key.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                && key
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                self.diagnostics.push(file.index.locate(&format!("{path}.env.{key}")), format!("`{key}` is not an environment variable name; expected capitals, digits and '_'"));
            }
            if let Some(t) = self.check_template(file, &format!("{path}.env.{key}"), value, vars) {
                env.insert(key.clone(), t);
            }
        }
        env
    }

    /// A timeout in range (60 s when none is given or it is wrong).
    fn check_timeout(&mut self, file: &SourceFile, path: &str, raw: &raw::RawAction) -> Duration {
        let Some(text) = &raw.timeout else {
            return Duration::from_secs(60);
        };
        match humantime::parse_duration(text) {
            Ok(d) if guard::out_of_range(d, guard::TIMEOUT_RANGE).is_none() => d,
            Ok(_) => {
                let expected =
                    guard::out_of_range(Duration::ZERO, guard::TIMEOUT_RANGE).unwrap_or_default();
                self.diagnostics.push(
                    file.index.locate(&format!("{path}.timeout")),
                    format!("timeout `{text}` is out of range; {expected}"),
                );
                Duration::from_secs(60)
            }
            Err(_) => {
                self.diagnostics.push(
                    file.index.locate(&format!("{path}.timeout")),
                    format!("`{text}` is not a timeout; expected a duration such as `30s` or `5m`"),
                );
                Duration::from_secs(60)
            }
        }
    }
}
