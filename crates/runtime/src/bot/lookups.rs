//! Read-only work the engine asks for besides actions: the built-in
//! `show_audit` listing, and the `values_from` lookups of cross-slot checks
//! (a program's output lines, or a file's, under the project).

use opsbot_dialog::{ActionOutcome, Lookup};
use opsbot_spec::Project;

use super::Bot;
use crate::audit::{AuditOutcome, AuditRecord};

impl Bot {
    /// The values a lookup lists (trimmed lines, no blanks or `#` comments),
    /// or why there are none to read.
    pub(super) async fn look_up(
        &self,
        project: &Project,
        lookup: &Lookup,
    ) -> Result<Vec<String>, String> {
        let text = match lookup {
            Lookup::Outside(path) => {
                return Err(format!(
                    "the file `{path}` would lie outside the project folder"
                ))
            }
            Lookup::File(path) => std::fs::read_to_string(path).map_err(|e| {
                let shown = path.strip_prefix(&project.root).unwrap_or(path);
                format!("cannot read {}: {e}", shown.display())
            })?,
            // Its timeout is 10 s (set by `opsbot check`).
            Lookup::Program(plan) => {
                let outcome = self.execute(project, plan).await;
                if !outcome.succeeded {
                    let why = outcome.error.clone().unwrap_or_else(|| {
                        format!(
                            "{} exited with {:?}",
                            plan.command_line(),
                            outcome.exit_code
                        )
                    });
                    return Err(why);
                }
                outcome.output
            }
        };
        Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect())
    }

    pub(super) fn show_audit(&self, query: &opsbot_dialog::AuditQuery) -> ActionOutcome {
        let started = std::time::Instant::now();
        let loaded = self.loaded();
        let settings = &loaded.project.settings;
        let zone = query
            .zone
            .as_deref()
            .and_then(opsbot_spec::types::parse_zone)
            .unwrap_or(chrono_tz::Tz::UTC);
        let mut lines = Vec::new();
        for record in self.store.audit_newest_first() {
            match record {
                Ok(r) if query.since.is_some_and(|since| r.time < since) => break,
                Ok(r) if audit_query_matches(query, &r, settings) => {
                    let outcome = if query.all_outcomes {
                        format!(" — {}", r.outcome.as_str().replace('_', " "))
                    } else {
                        String::new()
                    };
                    let summary = r.slot_summary();
                    let what = match loaded.project.dialogs.get(&r.dialog) {
                        Some(d) if query.intent.is_none() && summary.is_empty() => {
                            d.description.clone()
                        }
                        Some(d) if query.intent.is_none() => {
                            format!("{} ({summary})", d.description)
                        }
                        _ => summary,
                    };
                    lines.push(format!(
                        "• {} {}: {what}{outcome}",
                        r.time.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z"),
                        r.user,
                    ));
                    if lines.len() == query.limit {
                        break;
                    }
                }
                Ok(_) => {}
                Err(e) => return ActionOutcome::failed(e.to_string(), started.elapsed(), true),
            }
        }
        if lines.is_empty() {
            lines.push("none yet".into());
        }
        ActionOutcome {
            succeeded: true,
            exit_code: Some(0),
            output: lines.join("\n"),
            duration: started.elapsed(),
            error: None,
            started: true,
        }
    }
}

/// Whether an audit record is one a `show_audit` query asks for.
fn audit_query_matches(
    query: &opsbot_dialog::AuditQuery,
    record: &AuditRecord,
    settings: &opsbot_spec::Settings,
) -> bool {
    query.intent.as_ref().is_none_or(|i| *i == record.intent)
        && query
            .user
            .as_ref()
            .is_none_or(|u| settings.same_person(u, &record.user))
        && (query.all_outcomes || record.outcome == AuditOutcome::Succeeded)
}
