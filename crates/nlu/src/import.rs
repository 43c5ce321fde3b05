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

pub fn read_file(path: &Path) -> Result<TrainingData, ImportError> {
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
    let data = parse(&text, format).map_err(|(line, message)| error(line, message))?;
    if data.is_empty() {
        return Err(error(0, "no labelled examples found".into()));
    }
    Ok(data)
}

/// Parses `text` in `format`; errors are (line, message).
pub fn parse(text: &str, format: Format) -> Result<TrainingData, (usize, String)> {
    match format {
        Format::Yaml => parse_yaml(text),
        Format::RasaMarkdown => parse_markdown(text),
        Format::Tsv => parse_tsv(text),
        Format::Csv => parse_csv(text),
    }
}

/// Removes inline entity annotations, keeping the annotated words.
pub fn strip_annotations(text: &str) -> String {
    static ANNOTATION: OnceLock<Regex> = OnceLock::new();
    let re = ANNOTATION
        .get_or_init(|| Regex::new(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})").expect("static regex"));
    re.replace_all(text, "$1").trim().to_string()
}

fn parse_tsv(text: &str) -> Result<TrainingData, (usize, String)> {
    let mut data = TrainingData::default();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let (example, intent) = line.rsplit_once('\t').ok_or((
            n + 1,
            "expected `text<TAB>intent`; this line has no tab".to_string(),
        ))?;
        push(&mut data, example, intent, n + 1)?;
    }
    Ok(data)
}

fn parse_csv(text: &str) -> Result<TrainingData, (usize, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut data = TrainingData::default();
    for (n, record) in reader.records().enumerate() {
        let line = |r: &csv::StringRecord| r.position().map_or(n + 1, |p| p.line() as usize);
        let record = record.map_err(|e| (n + 1, e.to_string()))?;
        if n == 0
            && record
                .get(0)
                .is_some_and(|c| c.eq_ignore_ascii_case("text"))
            && record
                .get(1)
                .is_some_and(|c| c.eq_ignore_ascii_case("intent"))
        {
            continue;
        }
        if record.len() != 2 {
            return Err((
                line(&record),
                format!(
                    "expected two columns, text and intent; found {}",
                    record.len()
                ),
            ));
        }
        push(&mut data, &record[0], &record[1], line(&record))?;
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
    if intent.is_empty() || intent.contains(char::is_whitespace) {
        return Err((
            line,
            format!("`{intent}` is not an intent name; expected one word such as restart_service"),
        ));
    }
    data.push(&example, intent);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(data: &TrainingData) -> Vec<(&str, &str)> {
        data.texts
            .iter()
            .map(String::as_str)
            .zip(data.labels.iter().map(String::as_str))
            .collect()
    }

    #[test]
    fn reads_rasa_yaml_with_annotations() {
        let text = r#"
version: "3.1"
nlu:
- intent: restart
  examples: |
    - restart [nginx](service) on [web-01]{"entity": "host"}
    - bounce apache
- synonym: nginx
  examples: |
    - engine x
- intent: greet
  examples: |
    - hello
"#;
        let data = parse(text, Format::Yaml).unwrap();
        assert_eq!(
            pairs(&data),
            [
                ("restart nginx on web-01", "restart"),
                ("bounce apache", "restart"),
                ("hello", "greet")
            ]
        );
    }

    #[test]
    fn reads_rasa_markdown_skipping_other_sections() {
        let text = "## intent:deploy\n- deploy [v1.2](version)\n- ship it\n\n## synonym:prod\n- production\n## intent:greet\n- hi\n";
        let data = parse(text, Format::RasaMarkdown).unwrap();
        assert_eq!(
            pairs(&data),
            [
                ("deploy v1.2", "deploy"),
                ("ship it", "deploy"),
                ("hi", "greet")
            ]
        );
    }

    #[test]
    fn reads_tsv_and_csv_and_names_the_bad_line() {
        let data = parse(
            "# comment\nrestart apache\trestart\n\nhello\tgreet\n",
            Format::Tsv,
        )
        .unwrap();
        assert_eq!(
            pairs(&data),
            [("restart apache", "restart"), ("hello", "greet")]
        );
        let err = parse("ok\tgreet\nno tab here\n", Format::Tsv).unwrap_err();
        assert_eq!(err.0, 2);

        let data = parse(
            "text,intent\n\"restart apache, now\",restart\nhi,greet\n",
            Format::Csv,
        )
        .unwrap();
        assert_eq!(
            pairs(&data),
            [("restart apache, now", "restart"), ("hi", "greet")]
        );
        let err = parse("a,b\nonly one column\n", Format::Csv).unwrap_err();
        assert_eq!(err.0, 2, "{err:?}");
    }

    #[test]
    fn reads_opsbot_intents() {
        let data = parse(
            "intents:\n  greet:\n    examples:\n      - hi [there](who)\n",
            Format::Yaml,
        )
        .unwrap();
        assert_eq!(pairs(&data), [("hi there", "greet")]);
    }
}
