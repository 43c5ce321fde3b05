//! Entities: names, patterns, types and listed values, checked; and the
//! built-in typed entities a project uses without defining them.

use super::checker::Checker;
use super::source::*;
use super::*;

impl Checker<'_> {
    /// The built-in typed entities (`duration`, `ip`, …) that a slot or an
    /// annotation names and the author did not define. Only those are added, so a
    /// project that uses none extracts no numbers or times from its messages.
    pub(super) fn add_builtin_entities(
        &mut self,
        intent_files: &[(&SourceFile, raw::IntentFile)],
        dialog_files: &[(&SourceFile, raw::DialogFile)],
    ) {
        let mut named: BTreeSet<String> = dialog_files
            .iter()
            .flat_map(|(_, f)| f.dialogs.values())
            .flat_map(|d| d.slots.iter().map(|s| s.entity.clone()))
            .collect();
        for (_, file) in intent_files {
            let examples = file
                .intents
                .values()
                .flat_map(|i| i.examples.iter())
                .chain(file.out_of_scope.iter());
            for example in examples {
                if let Ok(parsed) = annotation::parse(example) {
                    named.extend(parsed.spans.into_iter().map(|s| s.entity));
                }
            }
        }
        for value_type in ValueType::ALL {
            if named.contains(value_type.name()) && !self.entities.contains_key(value_type.name()) {
                self.entities
                    .insert(value_type.name().to_string(), Entity::builtin(value_type));
            }
        }
    }

    /// Every entity of the intent files, each defined once.
    pub(super) fn check_entities(&mut self, files: &[(&SourceFile, raw::IntentFile)]) {
        let mut defined_in: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (file, parsed) in files {
            for (name, raw) in &parsed.entities {
                let path = format!("entities.{name}");
                let at = file.index.locate(&path);
                if !is_identifier(name) {
                    self.diagnostics.push(
                        at.clone(),
                        format!(
                            "`{name}` is not a valid entity name; expected letters, digits, '_' or '-'"
                        ),
                    );
                }
                if let Some(first) = defined_in.insert(name.clone(), file.display.clone()) {
                    self.diagnostics.push(
                        at.clone(),
                        format!(
                            "entity `{name}` is already defined in {}; expected each entity once",
                            first.display()
                        ),
                    );
                    continue;
                }
                let entity = self.check_entity(file, &path, &at, name, raw);
                self.entities.insert(name.clone(), entity);
            }
        }
    }

    fn check_entity(
        &mut self,
        file: &SourceFile,
        path: &str,
        at: &Location,
        name: &str,
        raw: &raw::RawEntity,
    ) -> Entity {
        let pattern = self.check_pattern(file, path, name, raw);
        let value_type = self.check_value_type(file, path, name, raw);
        if raw.pattern.is_some() && raw.value_type.is_some() {
            self.diagnostics.push(
                at.clone(),
                format!("entity `{name}` has both `pattern` and `type`; expected one of them"),
            );
        }
        if raw.pattern.is_none() && raw.values.is_empty() && raw.value_type.is_none() {
            self.diagnostics.push(at.clone(), format!("entity `{name}` has neither `pattern`, `type` nor `values`; expected at least one, so its values can be validated"));
        }
        self.check_listed_values(file, path, name, raw, pattern.as_ref(), value_type);
        Entity::new(
            name,
            raw.description.clone(),
            pattern,
            value_type,
            &raw.values,
        )
    }

    /// A valid regular expression that needs at least one character.
    fn check_pattern(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawEntity,
    ) -> Option<Regex> {
        let source = raw.pattern.as_ref()?;
        match Regex::new(source) {
            Ok(re) if re.is_match("") => {
                self.diagnostics.push(
                    file.index.locate(&format!("{path}.pattern")),
                    format!("pattern of entity `{name}` matches the empty string; expected a pattern that needs at least one character"),
                );
                None
            }
            Ok(re) => Some(re),
            Err(e) => {
                let detail = e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string();
                self.diagnostics.push(
                    file.index.locate(&format!("{path}.pattern")),
                    format!("pattern of entity `{name}` is not a valid regular expression ({detail}); expected Rust regex syntax"),
                );
                None
            }
        }
    }

    fn check_value_type(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawEntity,
    ) -> Option<ValueType> {
        let t = raw.value_type.as_ref()?;
        let found = ValueType::from_name(t);
        if found.is_none() {
            self.diagnostics.push(
                file.index.locate(&format!("{path}.type")),
                format!(
                    "entity `{name}` has unknown type `{t}`; expected one of {}",
                    join_or(&ValueType::names())
                ),
            );
        }
        found
    }

    /// Listed values and synonyms are safe to pass to a program, and each
    /// canonical value fits the entity's type and pattern.
    fn check_listed_values(
        &mut self,
        file: &SourceFile,
        path: &str,
        name: &str,
        raw: &raw::RawEntity,
        pattern: Option<&Regex>,
        value_type: Option<ValueType>,
    ) {
        for (canonical, synonyms) in &raw.values {
            for listed in std::iter::once(canonical).chain(synonyms) {
                if let Some(problem) = guard::listed_value_problem(name, listed) {
                    self.diagnostics.push(
                        file.index.locate(&format!("{path}.values.{canonical}")),
                        problem,
                    );
                }
            }
        }
        if let Some(t) = value_type {
            for canonical in raw.values.keys() {
                if t.resolve(canonical, chrono::Utc::now()).is_none() {
                    self.diagnostics.push(
                        file.index.locate(&format!("{path}.values.{canonical}")),
                        format!("value `{canonical}` of entity `{name}` is not {}; expected values of its type", t.description()),
                    );
                }
            }
        }
        if let Some(re) = pattern {
            for canonical in raw.values.keys() {
                if !Regex::new(&format!(r"\A(?:{})\z", re.as_str()))
                    .is_ok_and(|a| a.is_match(canonical))
                {
                    self.diagnostics.push(
                        file.index.locate(&format!("{path}.values.{canonical}")),
                        format!("value `{canonical}` of entity `{name}` does not match its pattern; expected values the pattern accepts"),
                    );
                }
            }
        }
    }
}
