//! Loading a project folder as a whole: settings, entities, intents and dialogs, every mistake collected.

use super::checker::{invalid, Checker};
use super::source::*;
use super::*;

/// The intents a dialogs file claims, read as plain YAML (for a file whose
/// typed reading failed); None when it is not even YAML.
fn loosely_claimed(text: &str) -> Option<Vec<String>> {
    let value: serde_yaml::Value = serde_yaml::from_str(text).ok()?;
    let dialogs = value.get("dialogs")?.as_mapping()?;
    Some(
        dialogs
            .iter()
            .filter_map(|(name, dialog)| {
                let intent = dialog.get("intent").and_then(|i| i.as_str());
                intent.or(name.as_str()).map(str::to_string)
            })
            .collect(),
    )
}

/// Loads and checks the project at `root`. Every mistake in every file is reported
/// at once as [`SpecError::Invalid`].
pub fn load_project(root: &Path) -> Result<Project, SpecError> {
    // Resolved once: actions run with other working directories than `check`.
    let root = &guard::absolute_root(root);
    let mut checker = Checker::new(root);
    checker.check_settings()?;

    let intent_files = read_folder(root, "intents")?;
    let dialog_files = read_folder(root, "dialogs")?;
    if intent_files.is_empty() {
        checker.diagnostics.push(
            Location::new("intents", 1, 1),
            "no intent files; expected at least one intents/*.yaml",
        );
    }
    let parsed_intents: Vec<(&SourceFile, raw::IntentFile)> = checker.parse_all(&intent_files);
    let parsed_dialogs: Vec<(&SourceFile, raw::DialogFile)> = checker.parse_all(&dialog_files);

    checker.check_entities(&parsed_intents);
    checker.add_builtin_entities(&parsed_intents, &parsed_dialogs);
    let out_of_scope = checker.check_intents(&parsed_intents);
    // A file that did not parse defines nothing; checking references against it
    // would only bury the real mistake under follow-on ones.
    if parsed_intents.len() < intent_files.len() {
        return invalid(checker.diagnostics);
    }
    let dialogs = checker.check_dialogs(&parsed_dialogs);
    checker.check_alert_slots(&dialogs);
    if let Some(api) = &checker.settings.api {
        crate::api::check_dialogs(api, |d| dialogs.contains_key(d), &mut checker.diagnostics);
    }
    checker.check_every_intent_has_a_dialog(&dialog_files, &parsed_dialogs);
    let schedules = checker.check_schedules(&parsed_dialogs, &dialogs);
    checker.finish(dialogs, schedules, out_of_scope)
}

/// Every YAML file of a project folder, read.
fn read_folder(root: &Path, folder: &str) -> Result<Vec<SourceFile>, SpecError> {
    yaml_files(root, folder)?
        .iter()
        .map(|f| read_source(root, f))
        .collect()
}

impl Checker<'_> {
    /// Alert routes name slots some dialog has.
    fn check_alert_slots(&mut self, dialogs: &BTreeMap<String, Dialog>) {
        if let Some(alerts) = &self.settings.alerts {
            crate::alerts::check_slots(
                alerts,
                |slot| {
                    dialogs
                        .values()
                        .any(|d| d.slots.iter().any(|s| s.name == slot))
                },
                &mut self.diagnostics,
            );
        }
    }

    /// Every intent starts a dialog, unless the project is `nlu_only`.
    fn check_every_intent_has_a_dialog(
        &mut self,
        dialog_files: &[SourceFile],
        parsed_dialogs: &[(&SourceFile, raw::DialogFile)],
    ) {
        // Dialogs that failed their own checks still claim their intent, and so
        // do those of a file with one bad field (read loosely): its mistake is
        // reported once, not again as "intent has no dialog" for each intent.
        let mut claimed: BTreeSet<String> = parsed_dialogs
            .iter()
            .flat_map(|(_, file)| {
                file.dialogs
                    .iter()
                    .map(|(name, d)| d.intent.clone().unwrap_or_else(|| name.clone()))
            })
            .collect();
        let parsed_names: BTreeSet<&Path> = parsed_dialogs
            .iter()
            .map(|(f, _)| f.display.as_path())
            .collect();
        let mut unreadable = false;
        for file in dialog_files
            .iter()
            .filter(|f| !parsed_names.contains(f.display.as_path()))
        {
            match loosely_claimed(&file.text) {
                Some(names) => claimed.extend(names),
                None => unreadable = true,
            }
        }

        for intent in self.intents.values() {
            if !claimed.contains(&intent.name) && !self.settings.nlu_only && !unreadable {
                self.diagnostics.push(
                    intent.location.clone(),
                    format!(
                        "intent `{}` has no dialog; expected a dialog under dialogs/ with `intent: {}` (or `nlu_only: true` in opsbot.yaml, to train and evaluate intents without a bot)",
                        intent.name, intent.name
                    ),
                );
            }
        }
    }
}
