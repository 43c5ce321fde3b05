//! The built-in `show_audit` action: the audit trail's newest records that a
//! query asks for, as lines, read from the store.

use opsbot_dialog::ActionOutcome;

use super::Actions;
use crate::audit::{AuditOutcome, AuditRecord};
use crate::model::Loaded;

impl Actions {
    pub(crate) fn show_audit(
        &self,
        loaded: &Loaded,
        query: &opsbot_dialog::AuditQuery,
    ) -> ActionOutcome {
        let started = std::time::Instant::now();
        let settings = &loaded.project.settings;
        let zone = query
            .zone
            .as_deref()
            .and_then(opsbot_spec::types::parse_zone)
            .unwrap_or(chrono_tz::Tz::UTC);
        let mut lines = Vec::new();
        for record in self.floor.store.audit_newest_first() {
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
