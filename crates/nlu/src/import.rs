//! Labelled examples from other tools' files, for training and for test sets:
//! Rasa NLU YAML and Markdown, opsbot's own `intents:` YAML, `text<TAB>intent`
//! lines and CSV (`text,intent`). Inline annotations (`[value](entity)`,
//! `[value]{"entity": …}`) become plain text. Mistakes name the file and line.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;

use crate::TrainingData;

#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct ImportError {
    pub path: PathBuf,
    /// 1-based; 0 when the mistake is the file as a whole.
    pub line: usize,
    pub message: String,
}

/// The formats understood, chosen by file extension (`.yml`/`.yaml`, `.md`,
/// `.tsv`/`.txt`, `.csv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    RasaMarkdown,
    Tsv,
    Csv,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "yml" | "yaml" => Some(Format::Yaml),
            "md" | "markdown" => Some(Format::RasaMarkdown),
            "tsv" | "txt" => Some(Format::Tsv),
            "csv" => Some(Format::Csv),
            _ => None,
        }
    }
}

/// Which columns of a CSV or TSV file hold the text and the intent, by their
/// header names; `None`: found by a usual header name (`text`, `sentence`,
/// `utterance`, `query`, …; `intent`, `label`, `category`, `class`, …), or
/// the two columns of a file without a header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Columns {
    pub text: Option<String>,
    pub intent: Option<String>,
}

const TEXT_NAMES: &[&str] = &[
    "text",
    "sentence",
    "utterance",
    "query",
    "example",
    "phrase",
    "message",
];
const INTENT_NAMES: &[&str] = &[
    "intent",
    "label",
    "category",
    "class",
    "intent_name",
    "target",
];

pub fn read_file(path: &Path) -> Result<TrainingData, ImportError> {
    read_file_with(path, &Columns::default())
}

/// [`read_file`] with the columns of a CSV or TSV file named.
pub fn read_file_with(path: &Path, columns: &Columns) -> Result<TrainingData, ImportError> {
    let error = |line, message: String| ImportError {
        path: path.to_path_buf(),
        line,
        message,
    };
    let format = Format::of(path).ok_or_else(|| {
        error(
            0,
            "unknown format; expected a .yml/.yaml (Rasa or opsbot), .md (Rasa), .tsv or .csv file"
                .into(),
        )
    })?;
    let text = std::fs::read_to_string(path).map_err(|e| error(0, e.to_string()))?;
    let data =
        parse_with(&text, format, columns).map_err(|(line, message)| error(line, message))?;
    if data.is_empty() {
        return Err(error(0, "no labelled examples found".into()));
    }
    Ok(data)
}

/// Parses `text` in `format`; errors are (line, message).
pub fn parse(text: &str, format: Format) -> Result<TrainingData, (usize, String)> {
    parse_with(text, format, &Columns::default())
}

/// [`parse`] with the columns of a CSV or TSV file named.
pub fn parse_with(
    text: &str,
    format: Format,
    columns: &Columns,
) -> Result<TrainingData, (usize, String)> {
    let named = columns.text.is_some() || columns.intent.is_some();
    match format {
        Format::Yaml | Format::RasaMarkdown if named => Err((
            0,
            "--text and --intent name columns of a CSV or TSV file; this file is YAML or Markdown"
                .into(),
        )),
        Format::Yaml => parse_yaml(text),
        Format::RasaMarkdown => parse_markdown(text),
        Format::Tsv => table(tsv_rows(text), columns, "a tab"),
        Format::Csv => table(csv_rows(text)?, columns, "a comma"),
    }
}

/// Removes inline entity annotations, keeping the annotated words.
pub fn strip_annotations(text: &str) -> String {
    static ANNOTATION: OnceLock<Regex> = OnceLock::new();
    let re = ANNOTATION
        .get_or_init(|| Regex::new(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})").expect("static regex"));
    re.replace_all(text, "$1").trim().to_string()
}

/// Rows of cells, each with its 1-based line number.
type Rows = Vec<(usize, Vec<String>)>;

/// Non-empty, non-comment lines split at tabs, with their line numbers.
fn tsv_rows(text: &str) -> Rows {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(n, line)| (n + 1, line.split('\t').map(str::to_string).collect()))
        .collect()
}

fn csv_rows(text: &str) -> Result<Rows, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| (n + 1, e.to_string()))?;
        let line = record.position().map_or(n + 1, |p| p.line() as usize);
        rows.push((line, record.iter().map(str::to_string).collect()));
    }
    Ok(rows)
}

/// The position of the column called `name`, or of the first with one of the
/// usual `names`.
fn column(header: &[String], name: Option<&str>, names: &[&str]) -> Option<usize> {
    let is = |cell: &String, wanted: &str| cell.trim().eq_ignore_ascii_case(wanted);
    match name {
        Some(name) => header.iter().position(|c| is(c, name)),
        None => names
            .iter()
            .find_map(|wanted| header.iter().position(|c| is(c, wanted))),
    }
}

/// Labelled examples from rows of cells: by the header's columns when the
/// first row is a header, else `text, intent` (for a TSV line, the intent
/// after the last tab).
fn table(rows: Rows, columns: &Columns, separator: &str) -> Result<TrainingData, (usize, String)> {
    let mut data = TrainingData::default();
    let Some((first_line, header)) = rows.first() else {
        return Ok(data);
    };
    let text_at = column(header, columns.text.as_deref(), TEXT_NAMES);
    let intent_at = column(header, columns.intent.as_deref(), INTENT_NAMES);
    let named = columns.text.is_some() || columns.intent.is_some();
    let picked = match (text_at, intent_at) {
        (Some(t), Some(i)) if t != i => Some((t, i)),
        _ if named => {
            let shown = header
                .iter()
                .map(|c| format!("`{}`", c.trim()))
                .collect::<Vec<_>>()
                .join(", ");
            let (what, wanted) = match (text_at, &columns.text, &columns.intent) {
                (None, Some(name), _) => ("text", name.clone()),
                (_, _, Some(name)) => ("intent", name.clone()),
                _ => ("intent", INTENT_NAMES.join("/")),
            };
            return Err((
                *first_line,
                format!("no {what} column named `{wanted}` in the header; its columns are {shown}"),
            ));
        }
        _ => None,
    };
    match picked {
        Some((text, intent)) => {
            for (line, cells) in &rows[1..] {
                let (Some(example), Some(label)) = (cells.get(text), cells.get(intent)) else {
                    return Err((
                        *line,
                        format!(
                            "expected {} columns as in the header; found {}",
                            header.len(),
                            cells.len()
                        ),
                    ));
                };
                push(&mut data, example, label, *line)?;
            }
        }
        None => {
            for (line, cells) in &rows {
                if separator == "a tab" && cells.len() < 2 {
                    return Err((
                        *line,
                        "expected `text<TAB>intent`; this line has no tab".to_string(),
                    ));
                }
                if separator == "a comma" && cells.len() != 2 {
                    return Err((
                        *line,
                        format!(
                            "expected two columns, text and intent, separated by {separator}; found {} (name the columns with a header, or --text and --intent)",
                            cells.len()
                        ),
                    ));
                }
                let (example, label) = cells.split_at(cells.len() - 1);
                push(&mut data, &example.join("\t"), &label[0], *line)?;
            }
        }
    }
    Ok(data)
}

fn parse_markdown(text: &str) -> Result<TrainingData, (usize, String)> {
    let mut data = TrainingData::default();
    // The intent of the current `## intent:` section; None inside other sections
    // (synonyms, regexes, lookup tables), whose lines are not examples.
    let mut intent: Option<String> = None;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix("##") {
            let header = header.trim();
            intent = header.strip_prefix("intent:").map(|i| i.trim().to_string());
            if intent.as_deref() == Some("") {
                return Err((n + 1, "`## intent:` needs an intent name".into()));
            }
            continue;
        }
        if let (Some(intent), Some(example)) = (&intent, line.strip_prefix("- ")) {
            push(&mut data, example, intent, n + 1)?;
        }
    }
    Ok(data)
}

#[derive(Deserialize)]
struct RasaFile {
    #[serde(default)]
    nlu: Vec<RasaItem>,
}

#[derive(Deserialize)]
struct RasaItem {
    intent: Option<String>,
    examples: Option<String>,
}

#[derive(Deserialize)]
struct OpsbotFile {
    intents: std::collections::BTreeMap<String, OpsbotIntent>,
}

#[derive(Deserialize)]
struct OpsbotIntent {
    examples: Vec<String>,
}

fn parse_yaml(text: &str) -> Result<TrainingData, (usize, String)> {
    let location = |e: &serde_yaml::Error| e.location().map_or(0, |l| l.line());
    let value: serde_yaml::Value =
        serde_yaml::from_str(text).map_err(|e| (location(&e), e.to_string()))?;
    let mut data = TrainingData::default();
    if value.get("intents").is_some() {
        let file: OpsbotFile = serde_yaml::from_value(value).map_err(|e| (0, e.to_string()))?;
        for (intent, body) in file.intents {
            for example in body.examples {
                push(&mut data, &example, &intent, 0)?;
            }
        }
        return Ok(data);
    }
    if value.get("nlu").is_none() {
        return Err((
            1,
            "expected Rasa NLU data (`nlu:` with `- intent:` items) or opsbot intents (`intents:`)"
                .into(),
        ));
    }
    let file: RasaFile = serde_yaml::from_value(value).map_err(|e| (0, e.to_string()))?;
    for item in file.nlu {
        let (Some(intent), Some(examples)) = (item.intent, item.examples) else {
            continue; // synonyms, regexes and lookups carry no labelled examples
        };
        for line in examples.lines() {
            if let Some(example) = line.trim().strip_prefix("- ") {
                push(&mut data, example, &intent, 0)?;
            }
        }
    }
    Ok(data)
}

fn push(
    data: &mut TrainingData,
    example: &str,
    intent: &str,
    line: usize,
) -> Result<(), (usize, String)> {
    let example = strip_annotations(example);
    let intent = intent.trim();
    if example.is_empty() {
        return Err((line, "empty example".into()));
    }
    if intent != opsbot_spec::OUT_OF_SCOPE && !opsbot_spec::annotation::is_identifier(intent) {
        let suggestion: String = intent
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect::<String>()
            .trim_matches('_')
            .to_string();
        let hint = if suggestion.is_empty() {
            String::new()
        } else {
            format!(" such as `{suggestion}`")
        };
        return Err((
            line,
            format!("`{intent}` is not a usable intent name; expected letters, digits, '_' or '-'{hint}; rename it in the file"),
        ));
    }
    data.push(&example, intent);
    Ok(())
}

#[cfg(test)]
mod tests;
