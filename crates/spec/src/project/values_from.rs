//! A slot's `values_from:`: a read-only command whose output lines are the
//! values the slot may take (`actions/list-replicas.sh {cluster}`), or a file
//! of them (`{file: data/replicas-{cluster}.txt}`). Checked like an action:
//! the program exists and is executable, every placeholder names a slot.

use super::*;

#[allow(clippy::too_many_arguments)]
pub(super) fn check_values_from(
    root: &Path,
    settings: &Settings,
    file: &SourceFile,
    slot_path: &str,
    dialog: &str,
    raw: &raw::RawValuesFrom,
    vars: &[&str],
    intents: &BTreeMap<String, Intent>,
    diagnostics: &mut Diagnostics,
) -> Option<ValuesFrom> {
    match raw {
        raw::RawValuesFrom::File { file: path } => check_template(
            file,
            &format!("{slot_path}.values_from.file"),
            path,
            vars,
            diagnostics,
        )
        .map(ValuesFrom::File),
        raw::RawValuesFrom::Command(command) => {
            let mut words = command.split_whitespace();
            let Some(program) = words.next() else {
                diagnostics.push(
                    file.index.locate(&format!("{slot_path}.values_from")),
                    "`values_from` is empty; expected a command such as `actions/list-replicas.sh {cluster}` or `{file: data/values.txt}`",
                );
                return None;
            };
            let action = raw::RawAction {
                program: Some(program.to_string()),
                args: words.map(str::to_string).collect(),
                env: BTreeMap::new(),
                timeout: Some("10s".into()),
                workdir: None,
                show_audit: None,
                unsafe_shell_command_string: false,
            };
            match check_action(
                root,
                settings,
                file,
                slot_path,
                "values_from",
                dialog,
                &action,
                vars,
                intents,
                diagnostics,
            )? {
                Action::Program(program) => Some(ValuesFrom::Program(program)),
                Action::ShowAudit(_) => None,
            }
        }
    }
}
