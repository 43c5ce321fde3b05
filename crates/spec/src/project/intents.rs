//! Entities, intents and their annotated examples, and template checks shared with dialogs.

use super::*;

/// The built-in typed entities (`duration`, `ip`, …) that a slot or an
/// annotation names and the author did not define. Only those are added, so a
/// project that uses none extracts no numbers or times from its messages.
pub(super) fn add_builtin_entities(
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

pub(super) fn check_entities(
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
            for (canonical, synonyms) in &raw.values {
                for listed in std::iter::once(canonical).chain(synonyms) {
                    if let Some(problem) = guard::listed_value_problem(name, listed) {
                        diagnostics.push(
                            file.index.locate(&format!("{path}.values.{canonical}")),
                            problem,
                        );
                    }
                }
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

pub(super) fn parse_examples(
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
                    if let Some(value) = [surface, span.value.as_str()]
                        .into_iter()
                        .find(|v| guard::looks_like_option(v))
                    {
                        diagnostics.push(at, format!("annotated value `{value}` starts with '-', so a program could take it for an option (no value starting with '-' is ever accepted); expected a value without a leading '-'"));
                        ok = false;
                        continue;
                    }
                    // Learned once this file is read: the lexicon is sorted
                    // once, not once per annotation.
                    let learned = pending.entry(span.entity.clone()).or_default();
                    match entity.validate_exact(&span.value, chrono::Utc::now()) {
                        // A typed value resolves when it is said ("yesterday
                        // at 3pm" is another time tomorrow): nothing to learn.
                        Ok(_) if entity.value_type().is_some() => {}
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

pub(super) fn check_intents(
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

pub(super) fn check_template(
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
