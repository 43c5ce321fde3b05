//! Loading a project folder as a whole: settings, entities, intents and dialogs, every mistake collected.

use super::*;

/// SHA-256 over the names and contents of the training files.
pub fn training_hash(root: &Path) -> Result<String, SpecError> {
    let mut hasher = Sha256::new();
    for relative in yaml_files(root, "intents")? {
        let path = root.join(&relative);
        let bytes = std::fs::read(&path).map_err(|source| SpecError::Io { path, source })?;
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(hasher.finalize()))
}

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
    let mut diagnostics = Diagnostics::default();

    let settings = load_settings(root, &mut diagnostics)?;

    let intent_files: Vec<SourceFile> = yaml_files(root, "intents")?
        .iter()
        .map(|f| read_source(root, f))
        .collect::<Result<_, _>>()?;
    let dialog_files: Vec<SourceFile> = yaml_files(root, "dialogs")?
        .iter()
        .map(|f| read_source(root, f))
        .collect::<Result<_, _>>()?;
    if intent_files.is_empty() {
        diagnostics.push(
            Location::new("intents", 1, 1),
            "no intent files; expected at least one intents/*.yaml",
        );
    }

    let parsed_intents: Vec<(&SourceFile, raw::IntentFile)> = intent_files
        .iter()
        .filter_map(|f| parse_yaml(f, &mut diagnostics).map(|p| (f, p)))
        .collect();
    let parsed_dialogs: Vec<(&SourceFile, raw::DialogFile)> = dialog_files
        .iter()
        .filter_map(|f| parse_yaml(f, &mut diagnostics).map(|p| (f, p)))
        .collect();

    let mut entities = check_entities(&parsed_intents, &mut diagnostics);
    add_builtin_entities(&mut entities, &parsed_intents, &parsed_dialogs);
    let (intents, out_of_scope) = check_intents(&parsed_intents, &mut entities, &mut diagnostics);
    // A file that did not parse defines nothing; checking references against it
    // would only bury the real mistake under follow-on ones.
    if parsed_intents.len() < intent_files.len() {
        return invalid(diagnostics);
    }
    let dialogs = check_dialogs(
        root,
        &settings,
        &parsed_dialogs,
        &entities,
        &intents,
        &mut diagnostics,
    );
    if let Some(alerts) = &settings.alerts {
        crate::alerts::check_slots(
            alerts,
            |slot| {
                dialogs
                    .values()
                    .any(|d| d.slots.iter().any(|s| s.name == slot))
            },
            &mut diagnostics,
        );
    }
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

    for intent in intents.values() {
        if !claimed.contains(&intent.name) && !settings.nlu_only && !unreadable {
            diagnostics.push(
                intent.location.clone(),
                format!(
                    "intent `{}` has no dialog; expected a dialog under dialogs/ with `intent: {}` (or `nlu_only: true` in opsbot.yaml, to train and evaluate intents without a bot)",
                    intent.name, intent.name
                ),
            );
        }
    }

    if !diagnostics.is_empty() {
        return invalid(diagnostics);
    }
    Ok(Project {
        root: root.to_path_buf(),
        settings,
        entities,
        intents,
        out_of_scope,
        dialogs,
        training_hash: training_hash(root)?,
    })
}

pub(super) fn invalid(mut diagnostics: Diagnostics) -> Result<Project, SpecError> {
    diagnostics.sort();
    Err(SpecError::Invalid(diagnostics))
}
