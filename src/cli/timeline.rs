//! `opsbot audit export`: the timeline of a room for a postmortem — audited
//! requests and actions interleaved with alerts that fired, resolved or were
//! muted, then each incident with its time to first action and to resolve.

use opsbot_runtime::alerts::{incidents, AlertEvent, Incident};

use std::collections::BTreeMap;
use std::io::Write;

use super::audit::{parse_since, shown};
use super::operator::Host;
use super::*;

/// One line of the timeline.
enum Entry<'a> {
    Record(&'a AuditRecord),
    Alert(&'a AlertEvent),
}

impl Entry<'_> {
    fn time(&self) -> chrono::DateTime<chrono::Utc> {
        match self {
            Entry::Record(r) => r.time,
            Entry::Alert(e) => e.at,
        }
    }
}

pub(crate) fn export(host: &dyn Host, args: &ExportArgs, out: &mut dyn Write) -> Result<()> {
    let store = host.store();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, chrono::Utc::now()))
        .transpose()?;
    let in_room = |room: &str| args.room.as_ref().is_none_or(|r| r == room);
    let mut records = Vec::new();
    for record in store.audit_oldest_first() {
        let record = record?;
        if since.is_some_and(|s| record.time < s) || !in_room(&record.room) {
            continue;
        }
        records.push(record);
    }
    let events: Vec<AlertEvent> = store
        .alert_events(since)?
        .into_iter()
        .filter(|e| in_room(&e.room))
        .collect();
    match args.format {
        ExportFormat::Jsonl => {
            for entry in entries(&records, &events) {
                match entry {
                    Entry::Record(r) => writeln!(out, "{}", serde_json::to_string(r)?)?,
                    Entry::Alert(e) => {
                        let mut line = serde_json::to_value(e)?;
                        line["type"] = "alert_event".into();
                        writeln!(out, "{line}")?;
                    }
                }
            }
        }
        ExportFormat::Markdown => {
            let name = host
                .project()
                .map(|p| p.settings.name)
                .unwrap_or_else(|_| "opsbot".into());
            write!(out, "{}", markdown_timeline(&name, &records, &events))?;
        }
    }
    Ok(())
}

/// Records and alert events in time order (records first at equal times).
fn entries<'a>(records: &'a [AuditRecord], events: &'a [AlertEvent]) -> Vec<Entry<'a>> {
    let mut all: Vec<Entry> = records.iter().map(Entry::Record).collect();
    all.extend(events.iter().map(Entry::Alert));
    all.sort_by_key(Entry::time);
    all
}

/// A Markdown code span around text that may hold backticks itself: the
/// fence is one backtick longer than the longest run inside (CommonMark).
fn code_span(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with('`') || text.ends_with('`') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text for a table cell, shown as it was said: the characters Markdown
/// would read as markup (a backslash first, so `\|` stays `\|`; pipes,
/// code, emphasis, links, raw HTML such as `<img onerror=…>`, entities) are
/// escaped, and control and bidi characters made visible.
fn cell_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in shown(&text.replace('\n', " ")).chars() {
        match c {
            '\\' | '|' | '`' | '*' | '~' | '[' | ']' | '<' | '>' | '&' | '!' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

fn minutes(from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>) -> String {
    let seconds = (to - from).num_seconds().max(0);
    if seconds < 120 {
        format!("{seconds} s")
    } else {
        format!("{} min", seconds / 60)
    }
}

/// One audit record as a row of the timeline.
fn record_row(r: &AuditRecord) -> String {
    let cell = |s: &str| cell_text(s);
    let mut details = Vec::new();
    if let Some(c) = &r.confirmed_by {
        details.push(format!("confirmed by {c}"));
    }
    if let Some(a) = &r.approved_by {
        details.push(format!("approved by {a}"));
    }
    if let Some(d) = &r.declined_by {
        details.push(format!("declined by {d}"));
    }
    if r.two_factor {
        details.push("2FA".into());
    }
    if let Some(alert) = &r.alert {
        details.push(format!("about the alert {}", cell(&alert.name)));
    }
    if let Some(command) = &r.command {
        details.push(code_span(&shown(
            &command.replace('|', "\\|").replace('\n', " "),
        )));
    }
    if let Some(code) = r.exit_code {
        details.push(format!("exit {code}"));
    }
    if let Some(reason) = &r.reason {
        details.push(cell(reason));
    }
    // A runbook's step sits under its run: the run's own
    // record (its outcome and every step's mark) follows them.
    let request = match &r.step {
        Some(step) => format!("↳ step {}", cell(step)),
        None => format!("{} {}", cell(&r.intent), cell(&r.slot_summary())),
    };
    format!(
        "| {} | {} | {} | {} | {request} | {} | {} |\n",
        r.id,
        r.time.format("%Y-%m-%d %H:%M:%S"),
        cell(&r.room),
        cell(&r.user),
        r.outcome.as_str(),
        details.join("; ")
    )
}

pub(super) fn markdown_timeline(
    name: &str,
    records: &[AuditRecord],
    events: &[AlertEvent],
) -> String {
    let mut out = format!("# {name} timeline\n\n");
    let all = entries(records, events);
    match (all.first(), all.last()) {
        (Some(first), Some(last)) => out.push_str(&format!(
            "{} records and {} alert events from {} to {}.\n\n",
            records.len(),
            events.len(),
            first.time().format("%Y-%m-%d %H:%M:%S UTC"),
            last.time().format("%Y-%m-%d %H:%M:%S UTC")
        )),
        _ => out.push_str("No records match.\n\n"),
    }
    out.push_str("| # | time (UTC) | room | who | request | outcome | details |\n|---|---|---|---|---|---|---|\n");
    // A runbook's steps are shown under its run's last record (its end),
    // once there is one; until then, in their place.
    let mut anchors: BTreeMap<&str, u64> = BTreeMap::new();
    for r in records.iter().filter(|r| r.step.is_none()) {
        anchors.insert(&r.request_id, r.id);
    }
    let cell = |s: &str| cell_text(s);
    for entry in &all {
        match entry {
            Entry::Record(r) if r.step.is_some() && anchors.contains_key(r.request_id.as_str()) => {
            }
            Entry::Record(r) => {
                out.push_str(&record_row(r));
                if anchors.get(r.request_id.as_str()) == Some(&r.id) {
                    for step in records
                        .iter()
                        .filter(|s| s.step.is_some() && s.request_id == r.request_id)
                    {
                        out.push_str(&record_row(step));
                    }
                }
            }
            Entry::Alert(e) => out.push_str(&format!(
                "| – | {} | {} | {} | {} | {} | {} |\n",
                e.at.format("%Y-%m-%d %H:%M:%S"),
                cell(&e.room),
                cell(e.by.as_deref().unwrap_or("alerts")),
                cell(&e.subject),
                e.kind.as_str(),
                cell(&e.detail)
            )),
        }
    }
    let found: Vec<Incident> = incidents(events, records);
    if !found.is_empty() {
        out.push_str("\n## Incidents\n\n| alert | room | fired (UTC) | first action | resolved |\n|---|---|---|---|---|\n");
        for i in &found {
            let action = match &i.first_action {
                Some((at, who)) => format!(
                    "{} by {} ({} after firing)",
                    at.format("%H:%M:%S"),
                    cell(who),
                    minutes(i.fired, *at)
                ),
                None => "none".into(),
            };
            let resolved = match i.resolved {
                Some(at) => format!(
                    "{} ({} after firing)",
                    at.format("%H:%M:%S"),
                    minutes(i.fired, at)
                ),
                None => "still open".into(),
            };
            out.push_str(&format!(
                "| {} | {} | {} | {action} | {resolved} |\n",
                cell(&i.subject),
                cell(&i.room),
                i.fired.format("%Y-%m-%d %H:%M:%S")
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{cell_text, code_span};

    /// What was said survives the table: a backslash before a pipe, HTML
    /// and links are text, never markup.
    #[test]
    fn cells_show_markup_as_text() {
        assert_eq!(cell_text(r"a\|b"), r"a\\\|b");
        assert_eq!(
            cell_text("<img src=x onerror=alert(1)>"),
            r"\<img src=x onerror=alert(1)\>"
        );
        assert_eq!(
            cell_text("[docs](javascript:alert(1))"),
            r"\[docs\](javascript:alert(1))"
        );
        assert_eq!(cell_text("pg-1 on web_01"), "pg-1 on web_01");
    }

    #[test]
    fn code_spans_hold_backticks() {
        assert_eq!(code_span("ls -l"), "`ls -l`");
        assert_eq!(code_span("echo `id`"), "`` echo `id` ``");
        assert_eq!(code_span("a``b"), "```a``b```");
    }

    /// A runbook's step records are listed under the record of its run,
    /// once it ended; a request without steps stays where it is.
    #[test]
    fn a_runbooks_steps_sit_under_its_run() {
        let record = |id: u64, request: &str, step: Option<&str>| -> opsbot_runtime::AuditRecord {
            serde_json::from_value(serde_json::json!({
                "id": id, "prev_hash": "", "hash": "", "request_id": request,
                "time": "2026-12-08T10:00:00Z", "room": "ops", "user": "alice",
                "outcome": "succeeded", "dialog": "d", "intent": format!("intent_{request}"),
                "confidence": 1.0, "slots": {}, "messages": [], "confirmed_by": null,
                "approved_by": null, "two_factor": false, "dry_run": false,
                "access": "allowed", "command": null, "exit_code": null,
                "duration_ms": null, "output": null, "reason": null, "step": step,
            }))
            .unwrap()
        };
        let records = [
            record(1, "r1", Some("1 check")),
            record(2, "other", None),
            record(3, "r1", Some("2 switch")),
            record(4, "r1", None),
            record(5, "r2", Some("1 check")),
        ];
        let table = super::markdown_timeline("ops", &records, &[]);
        let ids: Vec<&str> = table
            .lines()
            .filter(|l| l.starts_with("| ") && !l.starts_with("| #"))
            .map(|l| l.split(" | ").next().unwrap().trim_start_matches("| "))
            .collect();
        assert_eq!(ids, ["2", "4", "1", "3", "5"], "{table}");
        assert!(table.contains("| ↳ step 2 switch |"), "{table}");
    }
}
