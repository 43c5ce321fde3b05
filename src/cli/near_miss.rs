//! `opsbot evaluate`'s request-word reports, read by the trained bot exactly
//! as it reads chat:
//! - near misses: requests in the bot's own words that no dialog serves (one
//!   per line in `tests/near_misses.txt`, or `--near-misses FILE`). Before:
//!   what the classifier and its threshold alone would start. After: with the
//!   request-word judgement, questions kept from changes and either-or
//!   requests asked about.
//! - right readings: requests the bot should understand, worded as people
//!   write ("message<TAB>intent" per line in `tests/right_readings.txt`, or
//!   `--right-readings FILE`): of those the classifier reads right, how many
//!   the judgement starts, asks about, or refuses.
//!
//! The judgement's cost is also measured on the bot's own examples, each
//! taken as if said for the first time (leave one out).

use opsbot_nlu::near_miss::RequestWord;
use opsbot_nlu::{Nlu, Understanding};
use serde::Serialize;

use super::*;

#[derive(Debug, Serialize)]
pub(super) struct NearMissReport {
    pub file: String,
    pub requests: usize,
    /// Started a dialog by the classifier and its threshold alone.
    pub started_before: usize,
    pub refused_request_word: usize,
    /// Asked whether the intent read was meant (a request word no example
    /// uses, every other word the intent's).
    pub asked_if_meant: usize,
    pub refused_question: usize,
    pub asked_which: usize,
    pub refused_threshold: usize,
    /// Still started a dialog: (message, intent).
    pub started: Vec<(String, String)>,
    pub examples: usize,
    /// Examples the judgement would refuse (or ask about) if said first:
    /// (intent, text, refused rather than asked).
    pub examples_refused: Vec<(String, String, bool)>,
}

/// What became of the requests the bot should understand.
#[derive(Debug, Serialize)]
pub(super) struct RightReadingReport {
    pub file: String,
    pub requests: usize,
    /// Read as their intent by the classifier and its threshold alone.
    pub read_right: usize,
    /// Of those: started as that intent.
    pub started: usize,
    /// Of those: asked whether the intent was meant.
    pub asked_if_meant: usize,
    /// Of those: asked which of two intents was meant.
    pub asked_which: usize,
    /// Of those: refused (request word, question): (message, why).
    pub refused: Vec<(String, String)>,
    /// Read as another intent, or below the threshold: (message, expected, read).
    pub misread: Vec<(String, String, String)>,
}

/// `given`, else the project's `tests/NAME` when it exists.
pub(super) fn test_file(paths: &Paths, given: Option<&Path>, name: &str) -> Option<PathBuf> {
    match given {
        Some(file) => Some(file.to_path_buf()),
        None => Some(paths.project.join("tests").join(name)).filter(|f| f.exists()),
    }
}

fn lines_of(file: &Path, what: &str) -> Result<Vec<String>> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    if lines.is_empty() {
        bail!("{} lists no requests; expected {what}", file.display());
    }
    Ok(lines)
}

/// Whether the intent's dialog changes something when it runs.
fn writes(project: &opsbot_spec::Project, name: &str) -> bool {
    project
        .dialog_for_intent(name)
        .is_some_and(|d| matches!(d.behaviour, opsbot_spec::Behaviour::Run { .. }) && !d.read_only)
}

/// How the engine would take a reading: the same order as it decides.
enum Outcome {
    RefusedWord,
    RefusedQuestion,
    AskedWhich,
    AskedIfMeant,
    Started(String),
    BelowThreshold,
}

fn outcome(project: &opsbot_spec::Project, u: &Understanding) -> Outcome {
    let question = opsbot_nlu::near_miss::is_question(&u.text, &u.entities)
        && u.intent
            .iter()
            .chain(&u.ambiguous)
            .any(|g| writes(project, &g.name));
    if u.unserved.is_some() {
        Outcome::RefusedWord
    } else if question {
        Outcome::RefusedQuestion
    } else if !u.ambiguous.is_empty() {
        Outcome::AskedWhich
    } else if let Some(intent) = &u.intent {
        let runs = project
            .dialog_for_intent(&intent.name)
            .is_some_and(|d| matches!(d.behaviour, opsbot_spec::Behaviour::Run { .. }));
        if u.unsure.is_some() && runs {
            Outcome::AskedIfMeant
        } else {
            Outcome::Started(intent.name.clone())
        }
    } else {
        Outcome::BelowThreshold
    }
}

pub(super) fn near_misses(
    nlu: &Nlu,
    project: &opsbot_spec::Project,
    file: &Path,
) -> Result<NearMissReport> {
    let requests = lines_of(file, "one near-miss request per line")?;
    let mut report = NearMissReport {
        file: file.display().to_string(),
        requests: requests.len(),
        started_before: 0,
        refused_request_word: 0,
        asked_if_meant: 0,
        refused_question: 0,
        asked_which: 0,
        refused_threshold: 0,
        started: Vec::new(),
        examples: project.intents.values().map(|i| i.examples.len()).sum(),
        examples_refused: opsbot_nlu::near_miss::refused_if_new(project)
            .into_iter()
            .map(|c| {
                let refused = matches!(c.judged, RequestWord::Unserved(_));
                (c.intent, c.text, refused)
            })
            .collect(),
    };
    for request in requests {
        let u = nlu.understand(&request);
        if u.intent.is_some() || u.unserved.is_some() {
            report.started_before += 1;
        }
        match outcome(project, &u) {
            Outcome::RefusedWord => report.refused_request_word += 1,
            Outcome::RefusedQuestion => report.refused_question += 1,
            Outcome::AskedWhich => report.asked_which += 1,
            Outcome::AskedIfMeant => report.asked_if_meant += 1,
            Outcome::Started(intent) => report.started.push((request, intent)),
            Outcome::BelowThreshold => report.refused_threshold += 1,
        }
    }
    Ok(report)
}

pub(super) fn right_readings(
    nlu: &Nlu,
    project: &opsbot_spec::Project,
    file: &Path,
) -> Result<RightReadingReport> {
    let lines = lines_of(file, "one \"message<TAB>intent\" per line")?;
    let mut report = RightReadingReport {
        file: file.display().to_string(),
        requests: lines.len(),
        read_right: 0,
        started: 0,
        asked_if_meant: 0,
        asked_which: 0,
        refused: Vec::new(),
        misread: Vec::new(),
    };
    for (number, line) in lines.iter().enumerate() {
        let Some((message, intent)) = line.split_once('\t') else {
            bail!(
                "{}: request {} has no TAB; expected \"message<TAB>intent\"",
                file.display(),
                number + 1
            );
        };
        let (message, intent) = (message.trim(), intent.trim());
        if !project.intents.contains_key(intent) {
            bail!(
                "{}: “{message}” names the intent `{intent}`, which intents/ does not define",
                file.display()
            );
        }
        let u = nlu.understand(message);
        // The classifier's own reading, before the request-word judgement:
        // the ranking's first, above the threshold.
        let first = u.ranking.first();
        let classified = first.filter(|g| g.confidence >= nlu.threshold());
        if classified.is_none_or(|g| g.name != intent) {
            let read = classified.map_or("nothing (below the threshold)".to_string(), |g| {
                g.name.clone()
            });
            report
                .misread
                .push((message.to_string(), intent.to_string(), read));
            continue;
        }
        report.read_right += 1;
        match outcome(project, &u) {
            Outcome::Started(read) if read == intent => report.started += 1,
            Outcome::AskedIfMeant => report.asked_if_meant += 1,
            Outcome::AskedWhich => report.asked_which += 1,
            Outcome::RefusedWord => report.refused.push((
                message.to_string(),
                format!("request word “{}”", u.unserved.unwrap_or_default()),
            )),
            Outcome::RefusedQuestion => report
                .refused
                .push((message.to_string(), "read as a question".into())),
            Outcome::Started(read) => {
                report
                    .misread
                    .push((message.to_string(), intent.to_string(), read))
            }
            Outcome::BelowThreshold => report
                .refused
                .push((message.to_string(), "below the threshold".into())),
        }
    }
    Ok(report)
}

fn pct(n: usize, of: usize) -> f64 {
    100.0 * n as f64 / of.max(1) as f64
}

pub(super) fn print_near_misses(report: &NearMissReport) {
    let n = report.requests;
    let kept = n - report.started.len();
    println!(
        "\nNear misses: {n} requests no dialog serves ({}), read by the trained bot",
        report.file
    );
    println!(
        "  before (the classifier and its threshold alone): {} of {n} would start a dialog ({:.0}%)",
        report.started_before,
        pct(report.started_before, n)
    );
    println!(
        "  after: {kept} of {n} refused or asked about ({:.0}%): {} by their request word, {} asked whether meant, {} as questions, {} asked which, {} below the threshold",
        pct(kept, n),
        report.refused_request_word,
        report.asked_if_meant,
        report.refused_question,
        report.asked_which,
        report.refused_threshold
    );
    for (text, intent) in &report.started {
        println!("  still started: “{text}” → {intent}");
    }
    let refused = report.examples_refused.iter().filter(|e| e.2).count();
    let asked = report.examples_refused.len() - refused;
    println!(
        "  cost: of {} examples, each said as if for the first time, {refused} ({:.1}%) would be refused for their request word and {asked} ({:.1}%) asked about",
        report.examples,
        pct(refused, report.examples),
        pct(asked, report.examples)
    );
    const SHOWN: usize = 10;
    for (intent, text, refused) in report.examples_refused.iter().take(SHOWN) {
        let what = if *refused { "refused" } else { "asked" };
        println!("    {what}: {intent}: “{text}”");
    }
    if report.examples_refused.len() > SHOWN {
        println!(
            "    … and {} more (all of them in --json)",
            report.examples_refused.len() - SHOWN
        );
    }
}

pub(super) fn print_right_readings(report: &RightReadingReport) {
    let n = report.requests;
    let right = report.read_right;
    println!(
        "\nRight readings: {n} requests this bot should understand ({})",
        report.file
    );
    println!(
        "  the classifier and its threshold read {right} of {n} as their intent ({:.0}%)",
        pct(right, n)
    );
    println!(
        "  of those {right}: {} started, {} asked whether meant, {} asked which, {} refused ({:.1}% of right readings refused)",
        report.started,
        report.asked_if_meant,
        report.asked_which,
        report.refused.len(),
        pct(report.refused.len(), right)
    );
    for (text, why) in &report.refused {
        println!("  refused: “{text}” ({why})");
    }
    for (text, expected, read) in &report.misread {
        println!("  misread: “{text}” → {read} (expected {expected})");
    }
}
