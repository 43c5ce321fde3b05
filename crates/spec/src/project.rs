//! The checked bot definition: settings, entities, intents and dialogs, loaded from
//! a project folder and validated as a whole.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use regex::Regex;
use sha2::{Digest, Sha256};

use crate::access::{Access, Allow, Approval, Groups, Requirement};
use crate::annotation::{self, is_identifier, AnnotatedText, EntitySpan};
use crate::diag::{Diagnostics, Location, PositionIndex};
use crate::entity::{join_or, Entity};
use crate::guard;
use crate::people::People;
use crate::raw;
use crate::template::Template;
use crate::types::ValueType;
use crate::SpecError;

/// Variables every template may use besides the dialog's slots.
pub const CONTEXT_VARS: &[&str] = &["user", "room", "bot"];
/// Variables only result templates (`success`, `failure`) may use.
pub const RESULT_VARS: &[&str] = &["output", "exit_code", "duration"];
/// The variable a `reply` may use to list what the bot can do.
pub const CAPABILITIES_VAR: &str = "capabilities";
/// Class name the classifier uses for out-of-scope examples.
pub const OUT_OF_SCOPE: &str = "out_of_scope";

#[derive(Debug, Clone)]
pub struct RateLimit {
    pub executions: u32,
    pub per: Duration,
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    /// Overrides the threshold the model learned on held-out data.
    pub confidence_threshold: Option<f32>,
    /// Two intents closer than this in probability are ambiguous: the bot asks.
    pub ambiguity_margin: f32,
    /// Train with the sentence encoder (`nlu.encoder: none` trains on n-grams only).
    pub use_encoder: bool,
    /// How long a question for a slot waits for its answer.
    pub pending_expiry: Duration,
    pub carry_over_expiry: Duration,
    /// How long a confirmation, approval or 2FA code is awaited.
    pub confirmation_expiry: Duration,
    /// Group name → every id of its members (person names widened to their ids).
    pub groups: Groups,
    /// Who is who across adapters: the two-person rule compares people.
    pub people: People,
    pub redact: Vec<Regex>,
    pub rate_limit: RateLimit,
    /// Programs outside the project folder that actions may run (resolved paths).
    pub programs_outside_project: Vec<PathBuf>,
}

/// Whether `programs_outside_project:` lists this program.
fn settings_allow_outside(settings: &Settings, program: &Path) -> bool {
    let program = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    settings.programs_outside_project.contains(&program)
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: "opsbot".into(),
            confidence_threshold: None,
            ambiguity_margin: 0.15,
            use_encoder: true,
            pending_expiry: Duration::from_secs(10 * 60),
            carry_over_expiry: Duration::from_secs(30 * 60),
            confirmation_expiry: Duration::from_secs(5 * 60),
            groups: Groups::new(),
            people: People::default(),
            redact: Vec::new(),
            rate_limit: RateLimit {
                executions: 20,
                per: Duration::from_secs(60),
            },
            programs_outside_project: Vec::new(),
        }
    }
}

impl Settings {
    /// Whether two ids belong to one person (see `people:`).
    pub fn same_person(&self, a: &str, b: &str) -> bool {
        self.people.same_person(a, b)
    }

    /// The person behind an id, for rate limits and audit.
    pub fn person_of<'a>(&'a self, id: &'a str) -> &'a str {
        self.people.person_of(id)
    }

    /// Replaces every match of the redaction patterns by `[redacted]`.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for pattern in &self.redact {
            out = pattern.replace_all(&out, "[redacted]").into_owned();
        }
        out
    }
}

/// A training example with its annotations and where it was written.
#[derive(Debug, Clone)]
pub struct Example {
    pub text: String,
    pub spans: Vec<EntitySpan>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Intent {
    pub name: String,
    pub examples: Vec<Example>,
    pub location: Location,
}

#[derive(Debug, Clone)]
pub struct Slot {
    pub name: String,
    pub entity: String,
    pub prompt: Option<Template>,
    pub default: Option<String>,
    pub carry_over: bool,
}

#[derive(Debug, Clone)]
pub struct ProgramAction {
    /// Absolute path of the program.
    pub program: PathBuf,
    /// As written, for previews ("actions/restart.sh").
    pub program_display: String,
    pub args: Vec<Template>,
    pub env: BTreeMap<String, Template>,
    pub timeout: Duration,
    pub workdir: PathBuf,
}

#[derive(Debug, Clone)]
pub enum Action {
    Program(ProgramAction),
    /// Lists the newest audit records of one intent (read-only, built in).
    ShowAudit {
        intent: String,
        limit: usize,
    },
}

// A project holds a handful of dialogs; boxing the larger variant would only
// add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Answers with a message; nothing runs.
    Reply(Template),
    Run {
        action: Action,
        running: Option<Template>,
        success: Template,
        failure: Template,
    },
}

#[derive(Debug, Clone)]
pub struct Dialog {
    pub name: String,
    pub intent: String,
    pub description: String,
    pub access: Access,
    /// Who must approve, and when; `None`: no approval.
    pub approval: Option<Approval>,
    pub two_factor: bool,
    pub slots: Vec<Slot>,
    pub confirm: Option<Template>,
    pub behaviour: Behaviour,
}

impl Dialog {
    pub fn slot(&self, name: &str) -> Option<&Slot> {
        self.slots.iter().find(|s| s.name == name)
    }
}

/// Everything a bot is made of, checked.
#[derive(Debug, Clone)]
pub struct Project {
    pub root: PathBuf,
    pub settings: Settings,
    pub entities: BTreeMap<String, Entity>,
    pub intents: BTreeMap<String, Intent>,
    pub out_of_scope: Vec<Example>,
    pub dialogs: BTreeMap<String, Dialog>,
    /// SHA-256 of the files under `intents/`: a model trained on other data is stale.
    pub training_hash: String,
}

impl Project {
    pub fn dialog_for_intent(&self, intent: &str) -> Option<&Dialog> {
        self.dialogs.values().find(|d| d.intent == intent)
    }

    /// One line per dialog, for help replies.
    pub fn capabilities(&self) -> String {
        self.dialogs
            .values()
            .map(|d| format!("• {}", d.description))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

struct SourceFile {
    display: PathBuf,
    text: String,
    index: PositionIndex,
}

fn read_source(root: &Path, relative: &Path) -> Result<SourceFile, SpecError> {
    let path = root.join(relative);
    let text = guard::read_project_file(&path).map_err(|source| SpecError::Io {
        path: path.clone(),
        source,
    })?;
    if let Some((line, column)) = guard::too_deep(&text) {
        let mut diagnostics = Diagnostics::default();
        diagnostics.push(
            Location::new(relative, line, column),
            format!(
                "collections nest too deeply here; expected at most {} levels",
                guard::MAX_NESTING
            ),
        );
        return Err(SpecError::Invalid(diagnostics));
    }
    let index = PositionIndex::build(relative, &text);
    Ok(SourceFile {
        display: relative.to_path_buf(),
        text,
        index,
    })
}

fn yaml_files(root: &Path, folder: &str) -> Result<Vec<PathBuf>, SpecError> {
    let dir = root.join(folder);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => return Err(SpecError::Io { path: dir, source }),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| SpecError::Io {
            path: dir.clone(),
            source,
        })?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if (name.ends_with(".yaml") || name.ends_with(".yml")) && !name.starts_with('.') {
            files.push(Path::new(folder).join(&*name));
        }
    }
    files.sort();
    Ok(files)
}

/// Deserialises one file; a syntax or type error becomes a diagnostic at serde's
/// position. An empty file is an empty document.
fn parse_yaml<T: serde::de::DeserializeOwned + Default>(
    file: &SourceFile,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    if file
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Some(T::default());
    }
    match serde_yaml::from_str::<T>(&file.text) {
        Ok(value) => Some(value),
        Err(error) => {
            let (line, column) = error
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((1, 1));
            let message = error.to_string();
            let message = match message.rfind(" at line ") {
                Some(cut) => message[..cut].to_string(),
                None => message,
            };
            diagnostics.push(Location::new(&file.display, line, column), message);
            None
        }
    }
}

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
    // Dialogs that failed their own checks still claim their intent.
    let claimed: BTreeSet<String> = parsed_dialogs
        .iter()
        .flat_map(|(_, file)| {
            file.dialogs
                .iter()
                .map(|(name, d)| d.intent.clone().unwrap_or_else(|| name.clone()))
        })
        .collect();

    for intent in intents.values() {
        if !claimed.contains(&intent.name) {
            diagnostics.push(
                intent.location.clone(),
                format!(
                    "intent `{}` has no dialog; expected a dialog under dialogs/ with `intent: {}`",
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

fn invalid(mut diagnostics: Diagnostics) -> Result<Project, SpecError> {
    diagnostics.sort();
    Err(SpecError::Invalid(diagnostics))
}

fn load_settings(root: &Path, diagnostics: &mut Diagnostics) -> Result<Settings, SpecError> {
    let relative = Path::new("opsbot.yaml");
    if !root.join(relative).exists() {
        return Ok(Settings::default());
    }
    let file = read_source(root, relative)?;
    let mut settings = Settings::default();
    let Some(raw) = parse_yaml::<raw::RawSettings>(&file, diagnostics) else {
        return Ok(settings);
    };
    if let Some(name) = raw.name {
        settings.name = name;
    }
    if let Some(threshold) = raw.confidence_threshold {
        if (0.0..=1.0).contains(&threshold) {
            settings.confidence_threshold = Some(threshold);
        } else {
            diagnostics.push(
                file.index.locate("confidence_threshold"),
                format!("confidence_threshold {threshold} is out of range; expected a number from 0 to 1"),
            );
        }
    }
    if let Some(margin) = raw.ambiguity_margin {
        if (0.0..=1.0).contains(&margin) {
            settings.ambiguity_margin = margin;
        } else {
            diagnostics.push(
                file.index.locate("ambiguity_margin"),
                format!("ambiguity_margin {margin} is out of range; expected a number from 0 to 1 (0 never asks)"),
            );
        }
    }
    match raw.encoder.as_deref() {
        None | Some("all-MiniLM-L6-v2") => {}
        Some("none") => settings.use_encoder = false,
        Some(other) => diagnostics.push(
            file.index.locate("encoder"),
            format!("unknown encoder `{other}`; expected `all-MiniLM-L6-v2` (the default) or `none` (n-gram features only)"),
        ),
    }
    for (name, members) in raw.groups {
        if !is_identifier(&name) {
            diagnostics.push(
                file.index.locate(&format!("groups.{name}")),
                format!("`{name}` is not a valid group name; expected letters, digits, '_' or '-'"),
            );
        }
        settings.groups.insert(name, members.into_iter().collect());
    }
    for (person, ids) in raw.people {
        let at = file.index.locate(&format!("people.{person}"));
        if !is_identifier(&person) {
            diagnostics.push(
                at.clone(),
                format!(
                    "`{person}` is not a valid person name; expected letters, digits, '_' or '-'"
                ),
            );
        }
        if let Err(twice) = settings.people.add(&person, ids) {
            diagnostics.push(at, format!("id `{}` is listed for both `{}` and `{}`; expected each id to belong to one person", twice.id, twice.first, twice.second));
        }
    }
    settings.groups = settings.people.widen_groups(&settings.groups);
    for (i, program) in raw.programs_outside_project.iter().enumerate() {
        match std::fs::canonicalize(root.join(program)) {
            Ok(path) if Path::new(program).is_absolute() => settings.programs_outside_project.push(path),
            _ => diagnostics.push(file.index.locate(&format!("programs_outside_project.{i}")), format!("`{program}` is not an existing absolute path; expected e.g. `/usr/bin/systemctl`")),
        }
    }
    for (i, pattern) in raw.redact.iter().enumerate() {
        match Regex::new(pattern) {
            Ok(re) => match guard::redaction_problem(&re) {
                None => settings.redact.push(re),
                Some(problem) => {
                    diagnostics.push(file.index.locate(&format!("redact.{i}")), problem)
                }
            },
            Err(e) => diagnostics.push(
                file.index.locate(&format!("redact.{i}")),
                format!("redaction pattern is not a valid regular expression ({}); expected Rust regex syntax", e.to_string().lines().last().unwrap_or("").trim().trim_start_matches("error: ")),
            ),
        }
    }
    if let Some(limit) = raw.rate_limit {
        match humantime::parse_duration(&limit.per) {
            Ok(per) if limit.executions > 0 && !per.is_zero() => settings.rate_limit = RateLimit { executions: limit.executions, per },
            _ => diagnostics.push(file.index.locate("rate_limit"), "rate_limit is invalid; expected `executions:` above 0 and `per:` a duration such as `1m`"),
        }
    }
    for (key, value, target) in [
        (
            "pending_expiry",
            raw.pending_expiry,
            &mut settings.pending_expiry,
        ),
        (
            "carry_over_expiry",
            raw.carry_over_expiry,
            &mut settings.carry_over_expiry,
        ),
        (
            "confirmation_expiry",
            raw.confirmation_expiry,
            &mut settings.confirmation_expiry,
        ),
    ] {
        if let Some(text) = value {
            let range = if key == "carry_over_expiry" {
                (Duration::ZERO, guard::EXPIRY_RANGE.1)
            } else {
                guard::EXPIRY_RANGE
            };
            match humantime::parse_duration(&text) {
                Ok(d) => match guard::out_of_range(d, range) {
                    None => *target = d,
                    Some(expected) => diagnostics.push(
                        file.index.locate(key),
                        format!("{key} `{text}` is out of range; {expected}"),
                    ),
                },
                Err(e) => diagnostics.push(
                    file.index.locate(key),
                    format!("`{text}` is not a duration ({e}); expected e.g. `10m` or `90s`"),
                ),
            }
        }
    }
    Ok(settings)
}

/// The built-in typed entities (`duration`, `ip`, …) that a slot or an
/// annotation names and the author did not define. Only those are added, so a
/// project that uses none extracts no numbers or times from its messages.
fn add_builtin_entities(
    entities: &mut BTreeMap<String, Entity>,
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
        if named.contains(value_type.name()) && !entities.contains_key(value_type.name()) {
            entities.insert(value_type.name().to_string(), Entity::builtin(value_type));
        }
    }
}

fn check_entities(
    files: &[(&SourceFile, raw::IntentFile)],
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, Entity> {
    let mut entities = BTreeMap::new();
    let mut defined_in: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (file, parsed) in files {
        for (name, raw) in &parsed.entities {
            let path = format!("entities.{name}");
            let at = file.index.locate(&path);
            if !is_identifier(name) {
                diagnostics.push(
                    at.clone(),
                    format!(
                        "`{name}` is not a valid entity name; expected letters, digits, '_' or '-'"
                    ),
                );
            }
            if let Some(first) = defined_in.insert(name.clone(), file.display.clone()) {
                diagnostics.push(
                    at.clone(),
                    format!(
                        "entity `{name}` is already defined in {}; expected each entity once",
                        first.display()
                    ),
                );
                continue;
            }
            let pattern = match &raw.pattern {
                Some(source) => match Regex::new(source) {
                    Ok(re) if re.is_match("") => {
                        diagnostics.push(
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
                        diagnostics.push(
                            file.index.locate(&format!("{path}.pattern")),
                            format!("pattern of entity `{name}` is not a valid regular expression ({detail}); expected Rust regex syntax"),
                        );
                        None
                    }
                },
                None => None,
            };
            let value_type = match &raw.value_type {
                Some(t) => match ValueType::from_name(t) {
                    Some(v) => Some(v),
                    None => {
                        diagnostics.push(
                            file.index.locate(&format!("{path}.type")),
                            format!(
                                "entity `{name}` has unknown type `{t}`; expected one of {}",
                                join_or(&ValueType::names())
                            ),
                        );
                        None
                    }
                },
                None => None,
            };
            if raw.pattern.is_some() && raw.value_type.is_some() {
                diagnostics.push(
                    at.clone(),
                    format!("entity `{name}` has both `pattern` and `type`; expected one of them"),
                );
            }
            if raw.pattern.is_none() && raw.values.is_empty() && raw.value_type.is_none() {
                diagnostics.push(at.clone(), format!("entity `{name}` has neither `pattern`, `type` nor `values`; expected at least one, so its values can be validated"));
            }
            if let Some(t) = value_type {
                for canonical in raw.values.keys() {
                    if t.resolve(canonical, chrono::Utc::now()).is_none() {
                        diagnostics.push(
                            file.index.locate(&format!("{path}.values.{canonical}")),
                            format!("value `{canonical}` of entity `{name}` is not {}; expected values of its type", t.description()),
                        );
                    }
                }
            }
            if let Some(re) = &pattern {
                for canonical in raw.values.keys() {
                    if !Regex::new(&format!(r"\A(?:{})\z", re.as_str()))
                        .is_ok_and(|a| a.is_match(canonical))
                    {
                        diagnostics.push(
                            file.index.locate(&format!("{path}.values.{canonical}")),
                            format!("value `{canonical}` of entity `{name}` does not match its pattern; expected values the pattern accepts"),
                        );
                    }
                }
            }
            entities.insert(
                name.clone(),
                Entity::new(
                    name,
                    raw.description.clone(),
                    pattern,
                    value_type,
                    &raw.values,
                ),
            );
        }
    }
    entities
}

fn parse_examples(
    file: &SourceFile,
    path: &str,
    sources: &[String],
    entities: &mut BTreeMap<String, Entity>,
    diagnostics: &mut Diagnostics,
) -> Vec<Example> {
    let mut examples = Vec::new();
    let mut pending: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let entity_names: Vec<String> = entities.keys().cloned().collect();
    for (i, source) in sources.iter().enumerate() {
        let item = format!("{path}.{i}");
        match annotation::parse(source) {
            Ok(AnnotatedText { text, spans }) => {
                let mut ok = true;
                for (span_index, span) in spans.iter().enumerate() {
                    let at = file
                        .index
                        .locate_in_scalar(&item, annotation::label_offset(source, span_index));
                    let known: Vec<&str> = entity_names.iter().map(String::as_str).collect();
                    let Some(entity) = entities.get_mut(&span.entity) else {
                        diagnostics.push(
                            at,
                            format!(
                                "unknown entity `{}` in annotation; expected one of {}",
                                span.entity,
                                join_or(&known)
                            ),
                        );
                        ok = false;
                        continue;
                    };
                    let surface = &text[span.start..span.end];
                    // Learned once this file is read: the lexicon is sorted
                    // once, not once per annotation.
                    let learned = pending.entry(span.entity.clone()).or_default();
                    match entity.validate_exact(&span.value, chrono::Utc::now()) {
                        Ok(canonical) => learned.push((surface.to_string(), canonical)),
                        Err(_) if !entity.has_pattern() => {
                            // A closed list grows with annotated values.
                            learned.push((span.value.clone(), span.value.clone()));
                            learned.push((surface.to_string(), span.value.clone()));
                        }
                        Err(reason) => {
                            diagnostics.push(at, format!("annotated value does not fit entity `{}`: {reason}; expected a value its pattern accepts", span.entity));
                            ok = false;
                        }
                    }
                }
                if ok {
                    examples.push(Example {
                        text,
                        spans,
                        location: file.index.locate(&item),
                    });
                }
            }
            Err(e) => diagnostics.push(file.index.locate_in_scalar(&item, e.offset), e.message),
        }
    }
    for (name, pairs) in &pending {
        if let Some(entity) = entities.get_mut(name) {
            entity.learn_all(pairs.iter().map(|(s, c)| (s.as_str(), c.as_str())));
        }
    }
    examples
}

fn check_intents(
    files: &[(&SourceFile, raw::IntentFile)],
    entities: &mut BTreeMap<String, Entity>,
    diagnostics: &mut Diagnostics,
) -> (BTreeMap<String, Intent>, Vec<Example>) {
    let mut intents: BTreeMap<String, Intent> = BTreeMap::new();
    let mut out_of_scope = Vec::new();
    let mut defined_in: BTreeMap<String, PathBuf> = BTreeMap::new();
    for (file, parsed) in files {
        for (name, raw) in &parsed.intents {
            let path = format!("intents.{name}");
            let at = file.index.locate(&path);
            if !is_identifier(name) || name == OUT_OF_SCOPE {
                diagnostics.push(at.clone(), format!("`{name}` is not a usable intent name; expected letters, digits, '_' or '-' (and not `{OUT_OF_SCOPE}`, which is reserved)"));
            }
            if let Some(first) = defined_in.insert(name.clone(), file.display.clone()) {
                diagnostics.push(
                    at.clone(),
                    format!(
                        "intent `{name}` is already defined in {}; expected each intent once",
                        first.display()
                    ),
                );
                continue;
            }
            if raw.examples.is_empty() {
                diagnostics.push(
                    at.clone(),
                    format!("intent `{name}` has no examples; expected a list under `examples:`"),
                );
            }
            let examples = parse_examples(
                file,
                &format!("{path}.examples"),
                &raw.examples,
                entities,
                diagnostics,
            );
            intents.insert(
                name.clone(),
                Intent {
                    name: name.clone(),
                    examples,
                    location: at,
                },
            );
        }
        out_of_scope.extend(parse_examples(
            file,
            "out_of_scope",
            &parsed.out_of_scope,
            entities,
            diagnostics,
        ));
    }
    (intents, out_of_scope)
}

fn check_template(
    file: &SourceFile,
    path: &str,
    source: &str,
    allowed: &[&str],
    diagnostics: &mut Diagnostics,
) -> Option<Template> {
    match Template::parse(source) {
        Ok(template) => {
            let mut ok = true;
            for (name, offset) in template.placeholders() {
                if !allowed.contains(&name.as_str()) {
                    diagnostics.push(
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
            diagnostics.push(file.index.locate_in_scalar(path, e.offset), e.message);
            None
        }
    }
}

fn check_dialogs(
    root: &Path,
    settings: &Settings,
    files: &[(&SourceFile, raw::DialogFile)],
    entities: &BTreeMap<String, Entity>,
    intents: &BTreeMap<String, Intent>,
    diagnostics: &mut Diagnostics,
) -> BTreeMap<String, Dialog> {
    let mut dialogs = BTreeMap::new();
    let mut intent_owner: BTreeMap<String, String> = BTreeMap::new();
    let entity_names: Vec<&str> = entities.keys().map(String::as_str).collect();
    let intent_names: Vec<&str> = intents.keys().map(String::as_str).collect();
    for (file, parsed) in files {
        for (name, raw) in &parsed.dialogs {
            let path = format!("dialogs.{name}");
            let at = file.index.locate(&path);
            let before = diagnostics.len();
            if dialogs.contains_key(name) {
                diagnostics.push(
                    at.clone(),
                    format!("dialog `{name}` is defined twice; expected each dialog once"),
                );
                continue;
            }
            let intent = raw.intent.clone().unwrap_or_else(|| name.clone());
            if !intents.contains_key(&intent) {
                diagnostics.push(
                    file.index.locate(&format!("{path}.intent")),
                    format!("dialog `{name}` starts on intent `{intent}`, which no file under intents/ defines; expected one of {}", join_or(&intent_names)),
                );
            } else if let Some(other) = intent_owner.insert(intent.clone(), name.clone()) {
                diagnostics.push(at.clone(), format!("intent `{intent}` already starts dialog `{other}`; expected one dialog per intent"));
            }
            let description = match &raw.description {
                Some(d) if !d.trim().is_empty() => d.trim().to_string(),
                _ => {
                    diagnostics.push(at.clone(), format!("dialog `{name}` has no `description`; expected one line for help, e.g. \"restart a service on a host\""));
                    String::new()
                }
            };

            let mut slots = Vec::new();
            let mut slot_names: Vec<String> = Vec::new();
            for (i, raw_slot) in raw.slots.iter().enumerate() {
                let slot_path = format!("{path}.slots.{i}");
                let slot_at = file.index.locate(&slot_path);
                let slot_name = raw_slot
                    .name
                    .clone()
                    .unwrap_or_else(|| raw_slot.entity.clone());
                if !is_identifier(&slot_name)
                    || CONTEXT_VARS.contains(&slot_name.as_str())
                    || RESULT_VARS.contains(&slot_name.as_str())
                {
                    diagnostics.push(slot_at.clone(), format!("`{slot_name}` is not a usable slot name; expected letters, digits, '_' or '-', not one of {}", join_or(&[CONTEXT_VARS, RESULT_VARS].concat())));
                }
                if slot_names.contains(&slot_name) {
                    diagnostics.push(slot_at.clone(), format!("slot `{slot_name}` appears twice in dialog `{name}`; expected unique slot names (use `name:` to tell them apart)"));
                }
                let entity = entities.get(&raw_slot.entity);
                if entity.is_none() {
                    diagnostics.push(
                        file.index.locate(&format!("{slot_path}.entity")),
                        format!(
                            "slot `{slot_name}` uses unknown entity `{}`; expected one of {}",
                            raw_slot.entity,
                            join_or(&entity_names)
                        ),
                    );
                }
                if let (Some(default), Some(entity)) = (&raw_slot.default, entity) {
                    if let Err(reason) = entity.validate(default, chrono::Utc::now()) {
                        diagnostics.push(
                            file.index.locate(&format!("{slot_path}.default")),
                            format!("default of slot `{slot_name}` is invalid: {reason}"),
                        );
                    }
                }
                if raw_slot.prompt.is_none() && raw_slot.default.is_none() {
                    diagnostics.push(slot_at.clone(), format!("slot `{slot_name}` has no `prompt`; expected a question such as \"Which {}?\" (or a `default`)", raw_slot.entity));
                }
                slot_names.push(slot_name.clone());
                slots.push((slot_name, raw_slot, i));
            }

            // Typed slots also offer their fields: {duration.seconds}, {when.unix}.
            let field_vars: Vec<String> = slots
                .iter()
                .filter_map(|(slot_name, raw_slot, _)| {
                    let t = entities.get(&raw_slot.entity)?.value_type()?;
                    Some(
                        t.field_names()
                            .iter()
                            .map(move |f| format!("{slot_name}.{f}")),
                    )
                })
                .flatten()
                .collect();
            let mut base_vars: Vec<&str> = slot_names.iter().map(String::as_str).collect();
            base_vars.extend(field_vars.iter().map(String::as_str));
            base_vars.extend_from_slice(CONTEXT_VARS);
            let mut result_vars = base_vars.clone();
            result_vars.extend_from_slice(RESULT_VARS);

            let slots: Vec<Slot> = slots
                .into_iter()
                .map(|(slot_name, raw_slot, i)| Slot {
                    prompt: raw_slot.prompt.as_ref().and_then(|p| {
                        check_template(
                            file,
                            &format!("{path}.slots.{i}.prompt"),
                            p,
                            &base_vars,
                            diagnostics,
                        )
                    }),
                    name: slot_name,
                    entity: raw_slot.entity.clone(),
                    default: raw_slot.default.clone(),
                    carry_over: raw_slot.carry_over,
                })
                .collect();

            let confirm = raw.confirm.as_ref().and_then(|c| {
                check_template(file, &format!("{path}.confirm"), c, &base_vars, diagnostics)
            });

            let behaviour = match (&raw.action, &raw.reply) {
                (Some(_), Some(_)) => {
                    diagnostics.push(
                        at.clone(),
                        format!(
                            "dialog `{name}` has both `action` and `reply`; expected one of them"
                        ),
                    );
                    None
                }
                (None, None) => {
                    diagnostics.push(at.clone(), format!("dialog `{name}` has neither `action` nor `reply`; expected what the bot should do"));
                    None
                }
                (None, Some(reply)) => {
                    let mut vars = base_vars.clone();
                    vars.push(CAPABILITIES_VAR);
                    check_template(file, &format!("{path}.reply"), reply, &vars, diagnostics)
                        .map(Behaviour::Reply)
                }
                (Some(action), None) => {
                    let action = check_action(
                        root,
                        settings,
                        file,
                        &path,
                        name,
                        action,
                        &base_vars,
                        intents,
                        diagnostics,
                    );
                    if raw.allow.is_empty() {
                        diagnostics.push(at.clone(), format!("dialog `{name}` runs an action but does not say who may run it; expected `allow: [user, ...]` or `allow: [\"*\"]`"));
                    }
                    if raw.confirm.is_none() && !raw.read_only {
                        diagnostics.push(at.clone(), format!("dialog `{name}` runs an action without `confirm`; expected a confirmation template, or `read_only: true` if it changes nothing"));
                    }
                    let running = raw.running.as_ref().and_then(|t| {
                        check_template(file, &format!("{path}.running"), t, &base_vars, diagnostics)
                    });
                    let success = check_template(
                        file,
                        &format!("{path}.success"),
                        raw.success.as_deref().unwrap_or("Done: {output}"),
                        &result_vars,
                        diagnostics,
                    );
                    let failure = check_template(
                        file,
                        &format!("{path}.failure"),
                        raw.failure
                            .as_deref()
                            .unwrap_or("That failed (exit status {exit_code}): {output}"),
                        &result_vars,
                        diagnostics,
                    );
                    match (action, success, failure) {
                        (Some(action), Some(success), Some(failure)) => Some(Behaviour::Run {
                            action,
                            running,
                            success,
                            failure,
                        }),
                        _ => None,
                    }
                }
            };
            let access = check_access(file, &path, raw, settings, &slot_names, diagnostics);
            let approval = raw.approval.as_ref().map(|a| {
                let at = file.index.locate(&format!("{path}.approval"));
                if a.groups.is_empty() {
                    diagnostics.push(
                        at.clone(),
                        "approval names no groups; expected `groups: [approvers]`",
                    );
                }
                check_groups(&a.groups, settings, &at, diagnostics);
                for slot in a.when.keys().filter(|s| !slot_names.contains(s)) {
                    diagnostics.push(
                        at.clone(),
                        format!(
                            "approval names unknown slot `{slot}`; expected one of {}",
                            join_or(&slot_names.iter().map(String::as_str).collect::<Vec<_>>())
                        ),
                    );
                }
                Approval {
                    groups: a.groups.iter().cloned().collect(),
                    when: a.when.clone(),
                }
            });
            if raw.action.is_none()
                && (raw.approval.is_some() || raw.two_factor || !raw.require.is_empty())
            {
                diagnostics.push(at.clone(), format!("dialog `{name}` only replies, so `approval`, `two_factor` and `require` have nothing to guard; expected them on dialogs with an action"));
            }
            if let (true, Some(behaviour)) = (diagnostics.len() == before, behaviour) {
                dialogs.insert(
                    name.clone(),
                    Dialog {
                        name: name.clone(),
                        intent,
                        description,
                        access,
                        approval,
                        two_factor: raw.two_factor,
                        slots,
                        confirm,
                        behaviour,
                    },
                );
            }
        }
    }
    dialogs
}

fn check_groups(
    names: &[String],
    settings: &Settings,
    at: &Location,
    diagnostics: &mut Diagnostics,
) {
    let known: Vec<&str> = settings.groups.keys().map(String::as_str).collect();
    for group in names {
        if !settings.groups.contains_key(group) {
            diagnostics.push(
                at.clone(),
                format!(
                    "unknown group `{group}`; expected one of {} (define groups in opsbot.yaml)",
                    join_or(&known)
                ),
            );
        }
    }
}

fn check_access(
    file: &SourceFile,
    path: &str,
    raw: &raw::RawDialog,
    settings: &Settings,
    slot_names: &[String],
    diagnostics: &mut Diagnostics,
) -> Access {
    let at = file.index.locate(&format!("{path}.allow"));
    let allow = if raw.allow.iter().any(|u| u == "*") || raw.action.is_none() {
        Allow::Everyone
    } else {
        let (groups, users): (Vec<&String>, Vec<&String>) =
            raw.allow.iter().partition(|u| u.starts_with("group:"));
        let groups: Vec<String> = groups
            .iter()
            .map(|g| g.trim_start_matches("group:").to_string())
            .collect();
        check_groups(&groups, settings, &at, diagnostics);
        Allow::Principals {
            users: settings.people.widen(&users.into_iter().cloned().collect()),
            groups: groups.into_iter().collect(),
        }
    };
    let mut requirements = Vec::new();
    for (i, requirement) in raw.require.iter().enumerate() {
        let at = file.index.locate(&format!("{path}.require.{i}"));
        for slot in requirement.when.keys() {
            if !slot_names.contains(slot) {
                let known: Vec<&str> = slot_names.iter().map(String::as_str).collect();
                diagnostics.push(
                    at.clone(),
                    format!(
                        "requirement names unknown slot `{slot}`; expected one of {}",
                        join_or(&known)
                    ),
                );
            }
        }
        if requirement.when.is_empty() || requirement.groups.is_empty() {
            diagnostics.push(
                at.clone(),
                "requirement needs `when: {slot: pattern}` and `groups: [...]`",
            );
        }
        check_groups(&requirement.groups, settings, &at, diagnostics);
        requirements.push(Requirement {
            when: requirement.when.clone(),
            groups: requirement.groups.iter().cloned().collect(),
        });
    }
    Access {
        allow,
        rooms: (!raw.rooms.is_empty()).then(|| raw.rooms.iter().cloned().collect()),
        requirements,
    }
}

#[allow(clippy::too_many_arguments)]
fn check_action(
    root: &Path,
    settings: &Settings,
    file: &SourceFile,
    dialog_path: &str,
    dialog: &str,
    raw: &raw::RawAction,
    vars: &[&str],
    intents: &BTreeMap<String, Intent>,
    diagnostics: &mut Diagnostics,
) -> Option<Action> {
    let path = format!("{dialog_path}.action");
    let at = file.index.locate(&path);
    match (&raw.program, &raw.show_audit) {
        (Some(_), Some(_)) | (None, None) => {
            diagnostics.push(at, format!("action of dialog `{dialog}` must have exactly one of `program` or `show_audit`"));
            None
        }
        (None, Some(show)) => {
            if !intents.contains_key(&show.intent) {
                diagnostics.push(
                    file.index.locate(&format!("{path}.show_audit.intent")),
                    format!(
                        "`show_audit` names unknown intent `{}`; expected an intent under intents/",
                        show.intent
                    ),
                );
                return None;
            }
            Some(Action::ShowAudit {
                intent: show.intent.clone(),
                limit: show.limit.clamp(1, 50),
            })
        }
        (Some(program), None) => {
            let before = diagnostics.len();
            let program_path = root.join(program);
            match std::fs::metadata(&program_path) {
                Ok(meta) if meta.is_file() => {
                    use std::os::unix::fs::PermissionsExt;
                    if meta.permissions().mode() & 0o111 == 0 {
                        diagnostics.push(file.index.locate(&format!("{path}.program")), format!("program `{program}` is not executable; expected `chmod +x {program}`"));
                    }
                }
                _ => diagnostics.push(file.index.locate(&format!("{path}.program")), format!("program `{program}` does not exist; expected a path relative to the project root")),
            }
            if guard::outside_project(root, &program_path)
                && !settings_allow_outside(settings, &program_path)
            {
                diagnostics.push(file.index.locate(&format!("{path}.program")), format!("program `{program}` lies outside the project folder; expected a script under the project, or list it in `programs_outside_project:` in opsbot.yaml"));
            }
            if !raw.unsafe_shell_command_string {
                let resolved =
                    std::fs::canonicalize(&program_path).unwrap_or_else(|_| program_path.clone());
                if let Some(problem) = guard::shell_string_problem(program, &resolved, &raw.args) {
                    diagnostics.push(file.index.locate(&format!("{path}.program")), problem);
                }
            }
            let args: Vec<Template> = raw
                .args
                .iter()
                .enumerate()
                .filter_map(|(i, a)| {
                    check_template(file, &format!("{path}.args.{i}"), a, vars, diagnostics)
                })
                .collect();
            let mut env = BTreeMap::new();
            for (key, value) in &raw.env {
                let valid = key.starts_with(|c: char| c.is_ascii_uppercase() || c == '_')
                    && key
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                if !valid {
                    diagnostics.push(file.index.locate(&format!("{path}.env.{key}")), format!("`{key}` is not an environment variable name; expected capitals, digits and '_'"));
                }
                if let Some(t) =
                    check_template(file, &format!("{path}.env.{key}"), value, vars, diagnostics)
                {
                    env.insert(key.clone(), t);
                }
            }
            let timeout = match &raw.timeout {
                None => Duration::from_secs(60),
                Some(text) => match humantime::parse_duration(text) {
                    Ok(d) if guard::out_of_range(d, guard::TIMEOUT_RANGE).is_none() => d,
                    Ok(_) => {
                        let expected = guard::out_of_range(Duration::ZERO, guard::TIMEOUT_RANGE)
                            .unwrap_or_default();
                        diagnostics.push(
                            file.index.locate(&format!("{path}.timeout")),
                            format!("timeout `{text}` is out of range; {expected}"),
                        );
                        Duration::from_secs(60)
                    }
                    Err(_) => {
                        diagnostics.push(file.index.locate(&format!("{path}.timeout")), format!("`{text}` is not a timeout; expected a duration such as `30s` or `5m`"));
                        Duration::from_secs(60)
                    }
                },
            };
            let workdir = root.join(raw.workdir.as_deref().unwrap_or("."));
            if !workdir.is_dir() {
                diagnostics.push(file.index.locate(&format!("{path}.workdir")), format!("workdir `{}` is not a folder; expected a path relative to the project root", raw.workdir.as_deref().unwrap_or(".")));
            }
            (diagnostics.len() == before).then(|| {
                Action::Program(ProgramAction {
                    program: program_path,
                    program_display: program.clone(),
                    args,
                    env,
                    timeout,
                    workdir,
                })
            })
        }
    }
}
