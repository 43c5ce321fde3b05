//! Writes reviewed messages into the project's own intents YAML: each one
//! below the last example of its intent (or of `out_of_scope`), with a comment
//! saying when and from where. The project is loaded again afterwards; if it
//! no longer checks, or a closed list of values grew (review never adds a
//! value; an author does, under the entity's `values:`), the file is put
//! back as it was and the error says why.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use opsbot_runtime::InboxEntry;
use opsbot_spec::annotation::EntitySpan;
use opsbot_spec::{Example, Project, OUT_OF_SCOPE};

/// Where reviewed out-of-scope messages go when no file has any yet.
pub const OUT_OF_SCOPE_FILE: &str = "intents/reviewed-out-of-scope.yaml";

/// One accepted message: the example in annotation syntax, and its origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub label: String,
    /// `restart [apache](service) on [web-01](host)`.
    pub example: String,
    /// For the comment: `2026-12-02, room !ops:localhost, not understood`.
    pub origin: String,
}

impl Accepted {
    /// The entry as an example of `label`: its text escaped (brackets the user
    /// typed stay text), its values annotated where the label's dialog has a
    /// slot for their entity and the mark teaches no closed list a value
    /// (out of scope: plain text). See `Project::example_from_message`.
    pub fn from_entry(project: &Project, entry: &InboxEntry, label: &str) -> Accepted {
        let values: Vec<EntitySpan> = entry
            .entities
            .iter()
            .map(|v| EntitySpan {
                start: v.start,
                end: v.end,
                entity: v.entity.clone(),
                value: v.value.clone(),
            })
            .collect();
        Accepted {
            label: label.to_string(),
            example: project.example_from_message(label, &entry.text, &values),
            origin: format!(
                "{}, room {}, {}",
                entry.at.format("%Y-%m-%d"),
                entry.room,
                entry.kind.as_str()
            ),
        }
    }
}

/// Where a new example of `label` goes: the file and the line index (0-based)
/// to insert at, and the indentation of the list's items. `None`: no file
/// holds an example of it yet (only possible for out of scope).
fn insertion_point(project: &Project, label: &str) -> Result<Option<(PathBuf, usize, String)>> {
    let examples: &[Example] =
        if label == OUT_OF_SCOPE {
            &project.out_of_scope
        } else {
            match project.intents.get(label) {
                Some(intent) => &intent.examples,
                None => bail!(
                "`{label}` is not an intent of this bot; expected one of {} or `{OUT_OF_SCOPE}`",
                project.intents.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
            }
        };
    let Some(last) = examples
        .iter()
        .max_by_key(|e| (&e.location.file, e.location.line))
    else {
        return Ok(None);
    };
    // Every example of an intent is in one file; the last one's file it is.
    let last = examples
        .iter()
        .filter(|e| e.location.file == last.location.file)
        .max_by_key(|e| e.location.line)
        .expect("one example at least");
    let file = project.root.join(&last.location.file);
    let text =
        std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let index = last.location.line.saturating_sub(1);
    let item = lines.get(index).copied().unwrap_or("");
    let indent_len = item.len() - item.trim_start().len();
    if !item.trim_start().starts_with('-') {
        bail!(
            "the examples of `{label}` in {}:{} are not a block list (`- example` lines), so I cannot add to them; add the example by hand",
            last.location.file.display(),
            last.location.line
        );
    }
    // Lines that continue the last item (a folded or quoted scalar) stay with it.
    let mut end = index + 1;
    while end < lines.len() {
        let line = lines[end];
        let indent = line.len() - line.trim_start().len();
        if line.trim().is_empty() || indent <= indent_len {
            break;
        }
        end += 1;
    }
    Ok(Some((file, end, item[..indent_len].to_string())))
}

/// Writes the accepted examples; returns, per example, where it was written
/// (`intents/x.yaml:12`, or `already there`). The project must still check.
pub fn write_examples(root: &Path, accepted: &[Accepted]) -> Result<Vec<String>> {
    let mut written = Vec::new();
    for one in accepted {
        let project = opsbot_spec::load_project(root)
            .map_err(|e| anyhow::anyhow!("the project does not check before writing: {e}"))?;
        let plain = opsbot_spec::annotation::parse(&one.example)
            .map(|a| a.text)
            .unwrap_or_else(|_| one.example.clone());
        let existing: Vec<&Example> = if one.label == OUT_OF_SCOPE {
            project.out_of_scope.iter().collect()
        } else {
            project
                .intents
                .get(&one.label)
                .map(|i| i.examples.iter().collect())
                .unwrap_or_default()
        };
        if existing.iter().any(|e| e.text.eq_ignore_ascii_case(&plain)) {
            written.push("already there".to_string());
            continue;
        }
        let quoted = serde_json::to_string(&one.example).expect("a string serialises");
        let comment = format!(
            "# reviewed {} (opsbot review)",
            one.origin.replace('\n', " ")
        );
        let (file, at) = match insertion_point(&project, &one.label)? {
            Some((file, at, indent)) => {
                let original = std::fs::read_to_string(&file)?;
                let mut lines: Vec<String> = original.lines().map(str::to_string).collect();
                lines.insert(at, format!("{indent}- {quoted}"));
                lines.insert(at, format!("{indent}{comment}"));
                let mut text = lines.join("\n");
                text.push('\n');
                write_checked(root, &project, &file, Some(&original), &text, one)?;
                (file, at + 2)
            }
            None => {
                let file = root.join(OUT_OF_SCOPE_FILE);
                let original = std::fs::read_to_string(&file).ok();
                if original.is_some() {
                    bail!("{} exists but holds no out-of-scope example; add `out_of_scope:` to it by hand", file.display());
                }
                let text = format!(
                    "# Messages reviewers marked as nothing this bot does (opsbot review).\nout_of_scope:\n  {comment}\n  - {quoted}\n"
                );
                write_checked(root, &project, &file, None, &text, one)?;
                (file, 4)
            }
        };
        let shown = file
            .strip_prefix(root)
            .unwrap_or(&file)
            .display()
            .to_string();
        written.push(format!("{shown}:{at}"));
    }
    Ok(written)
}

/// Writes `text` to `file`, then loads the project: if it does not check, a
/// closed list grew from `before`, or the example is not there, the file is
/// restored (`original`, or removed).
fn write_checked(
    root: &Path,
    before: &Project,
    file: &Path,
    original: Option<&str>,
    text: &str,
    accepted: &Accepted,
) -> Result<()> {
    std::fs::write(file, text).with_context(|| format!("writing {}", file.display()))?;
    let problem = match opsbot_spec::load_project(root) {
        Err(e) => Some(e.to_string()),
        Ok(project) => {
            let grown = before.closed_list_growth(&project);
            let plain = opsbot_spec::annotation::parse(&accepted.example)
                .map(|a| a.text)
                .unwrap_or_default();
            let found = if accepted.label == OUT_OF_SCOPE {
                project.out_of_scope.iter().any(|e| e.text == plain)
            } else {
                project
                    .intents
                    .get(&accepted.label)
                    .is_some_and(|i| i.examples.iter().any(|e| e.text == plain))
            };
            if !grown.is_empty() {
                Some(format!(
                    "it would add {} to a closed list of values; an example from chat never adds a value (list it under the entity's `values:` by hand if it is one, or write the words without `[…](…)`)",
                    grown.join(", ")
                ))
            } else {
                (!found).then(|| "the example did not read back from the file".to_string())
            }
        }
    };
    let Some(problem) = problem else {
        return Ok(());
    };
    match original {
        Some(original) => std::fs::write(file, original)?,
        None => std::fs::remove_file(file)?,
    }
    bail!(
        "adding “{}” to `{}` in {} would break the project, so I left the file as it was: {problem}",
        accepted.example,
        accepted.label,
        file.display()
    )
}
