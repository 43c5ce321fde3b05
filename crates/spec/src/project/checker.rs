//! The project checker: what is known of the project being checked (its root,
//! and its settings, entities and intents once each is checked) and every
//! mistake found so far. Each part of the project is checked by methods in a
//! file of its own (`settings`, `entities`, `intents`, `dialogs`, `permissions`,
//! `actions`, `values_from`, `slot_limits`); this file holds what they share.

use super::source::*;
use super::*;

pub(super) struct Checker<'a> {
    /// The project folder, resolved (actions run with other working folders).
    pub(super) root: &'a Path,
    /// `opsbot.yaml` as checked (the defaults until then).
    pub(super) settings: Settings,
    /// Every entity checked so far, learned values included.
    pub(super) entities: BTreeMap<String, Entity>,
    pub(super) intents: BTreeMap<String, Intent>,
    /// Every mistake found, in the order found (sorted by position at the end).
    pub(super) diagnostics: Diagnostics,
}

impl<'a> Checker<'a> {
    pub(super) fn new(root: &'a Path) -> Checker<'a> {
        Checker {
            root,
            settings: Settings::default(),
            entities: BTreeMap::new(),
            intents: BTreeMap::new(),
            diagnostics: Diagnostics::default(),
        }
    }

    /// The checked project, or every mistake found, sorted by position.
    pub(super) fn finish(
        self,
        dialogs: BTreeMap<String, Dialog>,
        schedules: BTreeMap<String, Schedule>,
        out_of_scope: Vec<Example>,
    ) -> Result<Project, SpecError> {
        if !self.diagnostics.is_empty() {
            return invalid(self.diagnostics);
        }
        Ok(Project {
            root: self.root.to_path_buf(),
            settings: self.settings,
            entities: self.entities,
            intents: self.intents,
            out_of_scope,
            dialogs,
            schedules,
            training_hash: training_hash(self.root)?,
        })
    }

    /// Deserialises each file; one that does not parse is reported and left out.
    pub(super) fn parse_all<'f, T: serde::de::DeserializeOwned + Default>(
        &mut self,
        files: &'f [SourceFile],
    ) -> Vec<(&'f SourceFile, T)> {
        files
            .iter()
            .filter_map(|f| parse_yaml(f, &mut self.diagnostics).map(|p| (f, p)))
            .collect()
    }

    /// A template whose placeholders are all among `allowed`.
    pub(super) fn check_template(
        &mut self,
        file: &SourceFile,
        path: &str,
        source: &str,
        allowed: &[&str],
    ) -> Option<Template> {
        match Template::parse(source) {
            Ok(template) => {
                let mut ok = true;
                for (name, offset) in template.placeholders() {
                    if !allowed.contains(&name.as_str()) {
                        self.diagnostics.push(
                            file.index.locate_in_scalar(path, offset),
                            format!(
                                "template names unknown slot `{name}`; expected one of {}",
                                join_or(allowed)
                            ),
                        );
                        ok = false;
                    }
                }
                ok.then_some(template)
            }
            Err(e) => {
                self.diagnostics
                    .push(file.index.locate_in_scalar(path, e.offset), e.message);
                None
            }
        }
    }

    /// Whether `programs_outside_project:` lists this program.
    pub(super) fn allows_outside(&self, program: &Path) -> bool {
        let program = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
        self.settings.programs_outside_project.contains(&program)
    }
}

pub(super) fn invalid(mut diagnostics: Diagnostics) -> Result<Project, SpecError> {
    diagnostics.sort();
    Err(SpecError::Invalid(diagnostics))
}
