//! Intents and their annotated examples (and the out-of-scope ones): names,
//! annotations against the entities, values learned from annotations.

use super::checker::Checker;
use super::source::*;
use super::*;

/// Values annotated in a file, by entity: (as written, canonical), learned once
/// the file is read.
type Learned = BTreeMap<String, Vec<(String, String)>>;

impl Checker<'_> {
    /// Every intent of the intent files into `self.intents`, each defined once;
    /// returns the out-of-scope examples.
    pub(super) fn check_intents(
        &mut self,
        files: &[(&SourceFile, raw::IntentFile)],
    ) -> Vec<Example> {
        let mut out_of_scope = Vec::new();
        let mut defined_in: BTreeMap<String, PathBuf> = BTreeMap::new();
        for (file, parsed) in files {
            for (name, raw) in &parsed.intents {
                let path = format!("intents.{name}");
                let at = file.index.locate(&path);
                if !is_identifier(name) || name == OUT_OF_SCOPE {
                    self.diagnostics.push(at.clone(), format!("`{name}` is not a usable intent name; expected letters, digits, '_' or '-' (and not `{OUT_OF_SCOPE}`, which is reserved)"));
                }
                if let Some(first) = defined_in.insert(name.clone(), file.display.clone()) {
                    self.diagnostics.push(
                        at.clone(),
                        format!(
                            "intent `{name}` is already defined in {}; expected each intent once",
                            first.display()
                        ),
                    );
                    continue;
                }
                if raw.examples.is_empty() {
                    self.diagnostics.push(
                        at.clone(),
                        format!(
                            "intent `{name}` has no examples; expected a list under `examples:`"
                        ),
                    );
                }
                let examples =
                    self.check_examples(file, &format!("{path}.examples"), &raw.examples);
                self.intents.insert(
                    name.clone(),
                    Intent {
                        name: name.clone(),
                        examples,
                        location: at,
                    },
                );
            }
            out_of_scope.extend(self.check_examples(file, "out_of_scope", &parsed.out_of_scope));
        }
        out_of_scope
    }

    /// The examples under `path` whose annotations all hold; values they
    /// annotate are learned by their entities.
    fn check_examples(
        &mut self,
        file: &SourceFile,
        path: &str,
        sources: &[String],
    ) -> Vec<Example> {
        let mut examples = Vec::new();
        let mut pending = Learned::new();
        let entity_names: Vec<String> = self.entities.keys().cloned().collect();
        for (i, source) in sources.iter().enumerate() {
            let item = format!("{path}.{i}");
            match annotation::parse(source) {
                Ok(AnnotatedText { text, spans }) => {
                    let mut ok = true;
                    for (span_index, span) in spans.iter().enumerate() {
                        let at = file
                            .index
                            .locate_in_scalar(&item, annotation::label_offset(source, span_index));
                        // Every annotation is checked, also after a bad one.
                        ok &= self.check_annotation(at, span, &text, &entity_names, &mut pending);
                    }
                    if ok {
                        examples.push(Example {
                            text,
                            spans,
                            location: file.index.locate(&item),
                        });
                    }
                }
                Err(e) => self
                    .diagnostics
                    .push(file.index.locate_in_scalar(&item, e.offset), e.message),
            }
        }
        for (name, pairs) in &pending {
            if let Some(entity) = self.entities.get_mut(name) {
                entity.learn_all(pairs.iter().map(|(s, c)| (s.as_str(), c.as_str())));
            }
        }
        examples
    }

    /// Whether one annotation names a known entity with a value it takes (or
    /// a closed list learns); what it teaches goes into `pending`.
    fn check_annotation(
        &mut self,
        at: Location,
        span: &EntitySpan,
        text: &str,
        entity_names: &[String],
        pending: &mut Learned,
    ) -> bool {
        let Some(entity) = self.entities.get(&span.entity) else {
            let known: Vec<&str> = entity_names.iter().map(String::as_str).collect();
            self.diagnostics.push(
                at,
                format!(
                    "unknown entity `{}` in annotation; expected one of {}",
                    span.entity,
                    join_or(&known)
                ),
            );
            return false;
        };
        let surface = &text[span.start..span.end];
        if let Some(value) = [surface, span.value.as_str()]
            .into_iter()
            .find(|v| guard::looks_like_option(v))
        {
            self.diagnostics.push(at, format!("annotated value `{value}` starts with '-', so a program could take it for an option (no value starting with '-' is ever accepted); expected a value without a leading '-'"));
            return false;
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
                self.diagnostics.push(at, format!("annotated value does not fit entity `{}`: {reason}; expected a value its pattern accepts", span.entity));
                return false;
            }
        }
        true
    }
}
