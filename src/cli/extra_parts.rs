//! `opsbot evaluate`'s "every word accounted for" report: requests with a part
//! no slot of theirs takes (a time, a signed or decimal number, a name), one
//! "message<TAB>extra part" per line in `tests/extra_parts.txt` (or
//! `--extra-parts FILE`), read by the trained bot and stepped once each; a
//! confirmation counts as accounted when it names the extra part.

use opsbot_dialog::{evaluate_extra_parts, parse_extra_parts, ExtrasReport};

use super::*;

/// The extra-parts file of the project (or the one given), when there is one.
pub(super) fn extra_parts_file(paths: &Paths, given: Option<&Path>) -> Option<PathBuf> {
    match given {
        Some(file) => Some(file.to_path_buf()),
        None => Some(paths.project.join("tests/extra_parts.txt")).filter(|f| f.exists()),
    }
}

pub(super) fn extra_parts(
    paths: &Paths,
    project: &opsbot_spec::Project,
    file: &Path,
) -> Result<ExtrasReport> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let parts = parse_extra_parts(&text);
    if parts.is_empty() {
        bail!(
            "{} lists no messages; expected one \"message<TAB>extra part\" per line",
            file.display()
        );
    }
    let nlu = app::load_nlu(project, paths)?;
    // Each message as said by the first person its dialog lets start it (a
    // denial is not a confirmation, and no one user may run everything).
    let mut people: Vec<String> = project
        .settings
        .groups
        .values()
        .flat_map(|members| members.iter().cloned())
        .collect();
    people.sort();
    people.dedup();
    people.push("evaluator".into());
    let now = chrono::Utc::now();
    let mut report = ExtrasReport::default();
    for part in &parts {
        let one = std::slice::from_ref(part);
        let read = people
            .iter()
            .map(|user| evaluate_extra_parts(project, one, user, now, |t| nlu.understand(t)))
            .find(|r| r.confirmed > 0)
            .unwrap_or(ExtrasReport {
                messages: 1,
                ..ExtrasReport::default()
            });
        report.messages += read.messages;
        report.confirmed += read.confirmed;
        report.accounted += read.accounted;
        report.unaccounted.extend(read.unaccounted);
    }
    Ok(report)
}

pub(super) fn print_extra_parts(report: &ExtrasReport) {
    println!(
        "\nevery word accounted for: {} of {} confirmations named the extra part ({} of {} messages reached a confirmation)",
        report.accounted, report.confirmed, report.confirmed, report.messages
    );
    for (message, said) in report.unaccounted.iter().take(10) {
        println!("  not named: “{message}” → {said}");
    }
}
