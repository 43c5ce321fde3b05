//! Read-only work the engine asks for besides actions: the built-in
//! `show_audit` listing, and the `values_from` lookups of cross-slot checks
//! (a program's output lines, or a file's, under the project).

use opsbot_dialog::{ActionOutcome, Lookup, Plan};
use opsbot_spec::guard::LOOKUP_TIMEOUT;
use opsbot_spec::Project;

use super::Bot;
use crate::audit::{AuditOutcome, AuditRecord};
use crate::exec::{self, Invocation};
use crate::lookup::{self, LookupError, MAX_LOOKUP_BYTES};

impl Bot {
    /// The values a lookup lists (trimmed lines, no blanks or `#` comments),
    /// or why there are none to read. Nothing here blocks the async workers
    /// or waits past [`LOOKUP_TIMEOUT`].
    pub(super) async fn look_up(
        &self,
        project: &Project,
        lookup: &Lookup,
    ) -> Result<Vec<String>, String> {
        let result = match lookup {
            Lookup::Refused(why) => Err(LookupError::Refused(why.clone())),
            Lookup::File {
                path,
                folder,
                shown,
            } => {
                let file = lookup::FileLookup {
                    path: path.clone(),
                    folder: folder.clone(),
                    state: self.state_dir.clone(),
                    shown: shown.clone(),
                };
                lookup::file_values(file, LOOKUP_TIMEOUT).await
            }
            Lookup::Program(plan) => self.program_values(project, plan).await,
        };
        result.map_err(|e| {
            tracing::warn!(error = %e, "a lookup gave no values");
            e.to_string()
        })
    }

    /// An action's (or a lookup program's) environment: its own, plus where
    /// the state folder and the project are.
    pub(super) fn action_env(
        &self,
        project: &Project,
        env: &[(String, String)],
    ) -> Vec<(String, String)> {
        if let Err(e) = std::fs::create_dir_all(&self.state_dir) {
            tracing::warn!(dir = %self.state_dir.display(), error = %e, "cannot create the state folder");
        }
        let mut env = env.to_vec();
        env.push((
            "OPSBOT_STATE_DIR".into(),
            self.state_dir.display().to_string(),
        ));
        env.push((
            "OPSBOT_PROJECT_DIR".into(),
            project.root.display().to_string(),
        ));
        env
    }

    /// A lookup program's standard output lines (its errors are not values),
    /// run like an action but within the lookup's timeout and output cap.
    async fn program_values(
        &self,
        project: &Project,
        plan: &Plan,
    ) -> Result<Vec<String>, LookupError> {
        let Plan::Program {
            program,
            args,
            env,
            timeout,
            workdir,
            ..
        } = plan
        else {
            return Err(LookupError::Program(
                "a lookup runs a program, not a built-in".into(),
            ));
        };
        // Waiting for a free action slot counts against the lookup's time too.
        let started = tokio::time::Instant::now();
        let Ok(Ok(_slot)) = tokio::time::timeout(LOOKUP_TIMEOUT, self.actions.acquire()).await
        else {
            return Err(LookupError::TimedOut {
                what: format!("waiting to run {}", plan.command_line()),
                after: LOOKUP_TIMEOUT,
            });
        };
        let left = LOOKUP_TIMEOUT.saturating_sub(started.elapsed());
        let env = self.action_env(project, env);
        let captured = exec::run_captured(&Invocation {
            program,
            args,
            env: &env,
            workdir,
            timeout: (*timeout).min(left),
        })
        .await;
        let outcome = captured.outcome;
        if !outcome.succeeded {
            return Err(LookupError::Program(outcome.error.clone().unwrap_or_else(
                || {
                    format!(
                        "{} exited with {:?}",
                        plan.command_line(),
                        outcome.exit_code
                    )
                },
            )));
        }
        if captured.stdout_total > MAX_LOOKUP_BYTES {
            return Err(LookupError::Program(format!(
                "{} printed more than {MAX_LOOKUP_BYTES} bytes",
                plan.command_line()
            )));
        }
        let text = String::from_utf8(captured.stdout).map_err(|_| {
            LookupError::Program(format!("{} printed no UTF-8 text", plan.command_line()))
        })?;
        lookup::values(&text)
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
