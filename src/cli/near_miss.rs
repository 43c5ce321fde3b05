//! `opsbot evaluate`'s near-miss report: requests in the bot's own words that
//! no dialog serves (one per line in `tests/near_misses.txt`, or
//! `--near-misses FILE`), read by the trained bot exactly as it reads chat.
//! Before: what the classifier and its threshold alone would start. After:
//! with the request-word rule, questions kept from changes and either-or
//! requests asked about. The request-word rule's cost is measured on the
//! bot's own examples, each taken as if said for the first time.

use serde::Serialize;

use super::*;

#[derive(Debug, Serialize)]
pub(super) struct NearMissReport {
    pub file: String,
    pub requests: usize,
    /// Started a dialog by the classifier and its threshold alone.
    pub started_before: usize,
    pub refused_request_word: usize,
    pub refused_question: usize,
    pub asked_which: usize,
    pub refused_threshold: usize,
    /// Still started a dialog: (message, intent).
    pub started: Vec<(String, String)>,
    pub examples: usize,
    /// Examples the request-word rule would refuse (or ask about) if said
    /// first: (intent, text, refused rather than asked).
    pub examples_refused: Vec<(String, String, bool)>,
}

/// The near-miss file of the project (or the one given), when there is one.
pub(super) fn near_miss_file(paths: &Paths, given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(file) => Some(file.to_path_buf()),
        None => Some(paths.project.join("tests/near_misses.txt")).filter(|f| f.exists()),
    }
}

pub(super) fn near_misses(
    paths: &Paths,
    project: &opsbot_spec::Project,
    file: &Path,
) -> Result<NearMissReport> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let requests: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    if requests.is_empty() {
        bail!(
            "{} lists no requests; expected one near-miss request per line",
            file.display()
        );
    }
    let nlu = app::load_nlu(project, paths)?;
    let writes = |name: &str| {
        project.dialog_for_intent(name).is_some_and(|d| {
            matches!(d.behaviour, opsbot_spec::Behaviour::Run { .. }) && !d.read_only
        })
    };
    let mut report = NearMissReport {
        file: file.display().to_string(),
        requests: requests.len(),
        started_before: 0,
        refused_request_word: 0,
        refused_question: 0,
        asked_which: 0,
        refused_threshold: 0,
        started: Vec::new(),
        examples: project.intents.values().map(|i| i.examples.len()).sum(),
        examples_refused: opsbot_nlu::near_miss::refused_if_new(project),
    };
    for request in requests {
        let u = nlu.understand(request);
        if u.intent.is_some() || u.unserved.is_some() {
            report.started_before += 1;
        }
        let question = opsbot_nlu::near_miss::is_question(&u.text, &u.entities)
            && u.intent.iter().chain(&u.ambiguous).any(|g| writes(&g.name));
        if u.unserved.is_some() {
            report.refused_request_word += 1;
        } else if question {
            report.refused_question += 1;
        } else if !u.ambiguous.is_empty() {
            report.asked_which += 1;
        } else if let Some(intent) = &u.intent {
            report
                .started
                .push((request.to_string(), intent.name.clone()));
        } else {
            report.refused_threshold += 1;
        }
    }
    Ok(report)
}

pub(super) fn print_near_misses(report: &NearMissReport) {
    let pct = |n: usize, of: usize| 100.0 * n as f64 / of.max(1) as f64;
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
        "  after: {kept} of {n} refused or asked about ({:.0}%): {} by their request word, {} as questions, {} asked which, {} below the threshold",
        pct(kept, n),
        report.refused_request_word,
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
    for (intent, text, refused) in report.examples_refused.iter().take(10) {
        let what = if *refused { "refused" } else { "asked" };
        println!("    {what}: {intent}: “{text}”");
    }
}
