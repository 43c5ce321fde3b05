//! A slot's `values_from:`: a read-only command whose output lines are the
//! values the slot may take (`actions/list-replicas.sh {cluster}`), or a file
//! of them (`{file: data/replicas-{cluster}.txt}`). Checked like an action:
//! the program exists and is executable, every placeholder names a slot.
//! A file's lookup folder (the path before its first placeholder) must be an
//! existing folder inside the project, apart from the state folder: a slot
//! value never chooses a file the author did not put up for choosing.

use super::checker::Checker;
use super::source::*;
use super::*;

impl Checker<'_> {
    /// A slot's lookup: a file under its own folder, or a command checked
    /// like an action.
    pub(super) fn check_values_from(
        &mut self,
        file: &SourceFile,
        slot_path: &str,
        dialog: &str,
        raw: &raw::RawValuesFrom,
        vars: &[&str],
    ) -> Option<ValuesFrom> {
        match raw {
            raw::RawValuesFrom::File { file: path } => {
                let at = format!("{slot_path}.values_from.file");
                let template = self.check_template(file, &at, path, vars)?;
                match lookup_folder(self.root, &template) {
                    Ok(folder) => Some(ValuesFrom::File(FileLookup {
                        path: template,
                        folder,
                    })),
                    Err(problem) => {
                        self.diagnostics.push(file.index.locate(&at), problem);
                        None
                    }
                }
            }
            raw::RawValuesFrom::Command(command) => {
                let mut words = command.split_whitespace();
                let Some(program) = words.next() else {
                    self.diagnostics.push(
                        file.index.locate(&format!("{slot_path}.values_from")),
                        "`values_from` is empty; expected a command such as `actions/list-replicas.sh {cluster}` or `{file: data/values.txt}`",
                    );
                    return None;
                };
                let action = raw::RawAction {
                    program: Some(program.to_string()),
                    args: words.map(str::to_string).collect(),
                    env: BTreeMap::new(),
                    timeout: Some(humantime::format_duration(guard::LOOKUP_TIMEOUT).to_string()),
                    workdir: None,
                    show_audit: None,
                    unsafe_shell_command_string: false,
                };
                match self.check_action(file, slot_path, "values_from", dialog, &action, vars)? {
                    Action::Program(program) => Some(ValuesFrom::Program(program)),
                    Action::ShowAudit(_) | Action::Runbook(_) => None,
                }
            }
        }
    }
}

/// The folder a file lookup may read in (resolved), or why it may not: the
/// template's folder part before its first placeholder (its own folder when
/// it has none) must be an existing folder inside the project, and neither be,
/// lie in, nor hold the state folder (a placeholder could then reach the audit
/// key, the checkpoint copy or the review inbox).
fn lookup_folder(root: &Path, template: &Template) -> Result<PathBuf, String> {
    let source = template.source();
    let leading = template.leading_text();
    let written = match (template.has_placeholders(), leading.rfind('/')) {
        (true, Some(end)) => &leading[..end],
        (true, None) => "",
        (false, _) => Path::new(leading)
            .parent()
            .and_then(Path::to_str)
            .unwrap_or(""),
    };
    let shown = if written.is_empty() { "." } else { written };
    let relative = Path::new(written);
    let plain = relative.components().all(|c| {
        matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    if !plain {
        return Err(format!(
            "the file `{source}` would be looked up in `{shown}`, outside the project folder; expected a path relative to the project root without `..`, such as `data/replicas/{{cluster}}.txt`"
        ));
    }
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let folder = match std::fs::canonicalize(root.join(relative)) {
        Ok(folder) if folder.is_dir() => folder,
        _ => {
            return Err(format!(
                "the lookup folder `{shown}` of `{source}` is not an existing folder; expected the folder of the files to list values from, under the project"
            ))
        }
    };
    if !folder.starts_with(&root) {
        return Err(format!(
            "the lookup folder `{shown}` of `{source}` leads outside the project folder (through a link); expected a folder under the project"
        ));
    }
    let state = root.join(guard::DEFAULT_STATE_DIR);
    let state = std::fs::canonicalize(&state).unwrap_or(state);
    let reach = if template.has_placeholders() {
        folder.clone()
    } else {
        let named = root.join(leading);
        std::fs::canonicalize(&named).unwrap_or(named)
    };
    if reach.starts_with(&state) || (template.has_placeholders() && state.starts_with(&reach)) {
        return Err(format!(
            "the lookup folder `{shown}` of `{source}` is or holds the bot's state folder `{}` (its audit key, checkpoint copy and review inbox); expected a folder of its own, such as `data/lookups/`",
            guard::DEFAULT_STATE_DIR
        ));
    }
    Ok(folder)
}

#[cfg(test)]
mod tests {
    use crate::SpecError;
    use std::path::Path;

    /// A one-dialog project whose `build` slot lists values from `file`; the
    /// `values_from` line is line 11 of dialogs/ci.yaml.
    fn project(root: &Path, file: &str) -> Result<crate::Project, SpecError> {
        for folder in ["intents", "dialogs", "actions", "data/builds", "data/state"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        std::fs::write(root.join("opsbot.yaml"), "name: t\n").unwrap();
        std::fs::write(
            root.join("intents/ci.yaml"),
            "entities:\n  pipeline:\n    description: a pipeline\n    values: {frontend: [], backend: []}\n  build:\n    description: a build number\n    pattern: '[0-9]{2,6}'\nintents:\n  redeploy:\n    examples:\n      - redeploy build [412](build) of [frontend](pipeline)\n      - redeploy [backend](pipeline) [88](build)\n",
        )
        .unwrap();
        let action = root.join("actions/run.sh");
        std::fs::write(&action, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&action, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(
            root.join("dialogs/ci.yaml"),
            format!(
                "dialogs:\n  redeploy:\n    description: redeploy a build\n    allow: [\"*\"]\n    read_only: true\n    slots:\n      - entity: pipeline\n        prompt: Which pipeline?\n      - entity: build\n        prompt: Which build?\n        values_from: {{ file: \"{file}\" }}\n    action:\n      program: actions/run.sh\n"
            ),
        )
        .unwrap();
        crate::load_project(root)
    }

    fn refusal(file: &str, prepare: impl FnOnce(&Path)) -> String {
        let dir = tempfile::tempdir().unwrap();
        prepare(dir.path());
        match project(dir.path(), file) {
            Err(SpecError::Invalid(diagnostics)) => diagnostics.to_string(),
            Err(other) => panic!("{file}: {other}"),
            Ok(_) => panic!("{file}: accepted"),
        }
    }

    #[test]
    fn a_lookup_folder_of_its_own_is_resolved_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = project(dir.path(), "data/builds/{pipeline}.txt").unwrap();
        let slot = &loaded.dialogs["redeploy"].slots[1];
        let Some(crate::ValuesFrom::File(file)) = &slot.values_from else {
            panic!("a file lookup: {:?}", slot.values_from);
        };
        let root = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(file.folder, root.join("data/builds"));
        // A fixed file needs no folder of its own, only to be outside the state.
        let dir = tempfile::tempdir().unwrap();
        project(dir.path(), "data/values.txt").unwrap();
    }

    #[test]
    fn a_lookup_folder_that_is_or_holds_the_state_folder_is_refused_with_its_line() {
        for file in [
            "data/{pipeline}",
            "data/{pipeline}.txt",
            "{pipeline}/list.txt",
            "data/state/{pipeline}",
            "data/state/audit.key",
        ] {
            let said = refusal(file, |_| {});
            assert!(
                said.contains("dialogs/ci.yaml:11:") && said.contains("state folder"),
                "{file}: {said}"
            );
        }
    }

    #[test]
    fn a_lookup_folder_outside_the_project_or_missing_is_refused() {
        for file in [
            "../{pipeline}.txt",
            "/etc/{pipeline}",
            "data/../../{pipeline}",
        ] {
            let said = refusal(file, |_| {});
            assert!(
                said.contains("dialogs/ci.yaml:11:") && said.contains("outside the project"),
                "{file}: {said}"
            );
        }
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().to_path_buf();
        let said = refusal("data/linked/{pipeline}.txt", move |root| {
            std::fs::create_dir_all(root.join("data")).unwrap();
            std::os::unix::fs::symlink(&target, root.join("data/linked")).unwrap();
        });
        assert!(
            said.contains("dialogs/ci.yaml:11:") && said.contains("through a link"),
            "{said}"
        );
        let said = refusal("data/none/{pipeline}.txt", |_| {});
        assert!(said.contains("not an existing folder"), "{said}");
    }

    #[test]
    fn the_example_bot_and_both_packs_pass_the_lookup_checks() {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for root in [
            repo.clone(),
            repo.join("tests/packs/dbops"),
            repo.join("tests/packs/cicd"),
        ] {
            if let Err(e) = crate::load_project(&root) {
                panic!("{}: {e}", root.display());
            }
        }
    }
}
