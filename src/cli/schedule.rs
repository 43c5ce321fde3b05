//! `opsbot schedule list|cancel`: the requests scheduled for later, as an
//! operator at the machine sees them (every room), and cancelling one by its
//! id — trusted like an admin, audited as cancelled by them. The chat's
//! "what is scheduled?" and "cancel 7f3a" share the runtime's code.

use std::io::Write;

use opsbot_runtime::command::schedule::{describe, with_id};
use opsbot_runtime::store::Job;
use opsbot_spec::Project;

use super::audit::shown;
use super::operator::Host;
use super::*;

pub(crate) fn list(host: &dyn Host, out: &mut dyn Write) -> Result<()> {
    let jobs = host.store().jobs()?;
    if jobs.is_empty() {
        writeln!(out, "nothing is scheduled")?;
        return Ok(());
    }
    let project = host.project()?;
    for job in &jobs {
        writeln!(out, "{}", line(&project, job, false))?;
    }
    Ok(())
}

pub(crate) fn cancel(host: &dyn Host, id: &str, by: &str, out: &mut dyn Write) -> Result<()> {
    if id.trim().is_empty() {
        bail!("give the id of the scheduled request to cancel (`opsbot schedule list` shows them)");
    }
    let jobs = host.store().jobs()?;
    let job = match with_id(&jobs, id.trim()).as_slice() {
        [job] => (*job).clone(),
        [] => bail!(
            "no scheduled request has an id starting with {}; `opsbot schedule list` shows them",
            shown(id)
        ),
        several => {
            let project = host.project()?;
            // Whole ids: these may share their short ones.
            for job in several {
                writeln!(out, "{}", line(&project, job, true))?;
            }
            bail!(
                "{} scheduled requests have an id starting with {}; give more of the id",
                several.len(),
                shown(id)
            )
        }
    };
    let project = host.project()?;
    match host.cancel(job.id(), by)? {
        Some(job) => {
            writeln!(
                out,
                "cancelled {}: {} will not happen (audited as cancelled by {})",
                job.short_id(),
                shown(&describe(&project, &job)),
                shown(by)
            )?;
            Ok(())
        }
        None => bail!(
            "{} is no longer scheduled: it ran or was cancelled meanwhile",
            job.short_id()
        ),
    }
}

/// "7f3a  2026-03-02 20:00 UTC (Mon 2 Mar 2026 21:00 CET)  in shell, asked
/// by alice: the request to deploy … (app=shop, …)", with the whole id when
/// `whole_id`.
fn line(project: &Project, job: &Job, whole_id: bool) -> String {
    let at = job.due_at();
    let zone = project.settings.zone_of(&job.key.user);
    let id = if whole_id { job.id() } else { job.short_id() };
    format!(
        "{}  {} ({})  in {}, asked by {}: {}",
        shown(id),
        at.format("%Y-%m-%d %H:%M UTC"),
        opsbot_spec::types::display_time(at, zone),
        shown(&job.key.room),
        shown(&job.key.user),
        shown(&describe(project, job))
    )
}

#[cfg(test)]
mod tests {
    use opsbot_runtime::store::{AuditStore, Commit, ConversationKey, ConversationStore};
    use opsbot_runtime::{MemoryStore, Store};

    use super::*;

    /// The example bot's project on an in-memory store.
    struct Fake {
        store: MemoryStore,
        project: Project,
    }

    impl Host for Fake {
        fn store(&self) -> &dyn Store {
            &self.store
        }

        fn project(&self) -> Result<Project> {
            Ok(self.project.clone())
        }

        fn cancel(&self, id: &str, by: &str) -> Result<Option<Job>> {
            Ok(opsbot_runtime::command::schedule::cancel_as_operator(
                &self.store,
                &self.project.settings,
                id,
                by,
                chrono::Utc::now(),
            )?)
        }
    }

    fn job(id: &str, version: &str) -> Job {
        let slot = |value: &str| serde_json::json!({"value": value, "origin": "extracted"});
        serde_json::from_value(serde_json::json!({
            "key": {"room": "ops", "user": "alice"},
            "request": {
                "id": id,
                "dialog": "deploy_app",
                "intent": "deploy_app",
                "confidence": 0.9,
                "slots": {"app": slot("shop"), "version": slot(version), "environment": slot("staging")},
                "messages": ["deploy shop"],
                "confirmed_by": "alice",
                "started_at": "2026-03-02T18:00:00Z",
                "touched_at": "2026-03-02T18:00:00Z",
                "at": "2026-03-02T20:00:00Z",
            }
        }))
        .unwrap()
    }

    fn fake() -> Fake {
        let project =
            opsbot_spec::load_project(std::path::Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        let store = MemoryStore::new();
        let key = ConversationKey::new("ops", "alice");
        let mut change = Commit::at(chrono::Utc::now());
        change.schedule = vec![
            job("7f3a01", "1.2"),
            job("7f3a02", "1.3"),
            job("b2c403", "1.4"),
        ];
        let conversation = store.load(&key).unwrap();
        store.commit(&key, &conversation, change).unwrap();
        Fake { store, project }
    }

    #[test]
    fn an_ambiguous_prefix_lists_the_matches_by_whole_id_and_cancels_nothing() {
        let host = fake();
        let mut out = Vec::new();
        let error = cancel(&host, "7f3a", "cli:test", &mut out).unwrap_err();
        assert_eq!(
            error.to_string(),
            "2 scheduled requests have an id starting with 7f3a; give more of the id"
        );
        let listed = String::from_utf8(out).unwrap();
        assert!(
            listed.starts_with("7f3a01  2026-03-02 20:00 UTC ("),
            "{listed}"
        );
        assert!(
            listed.lines().nth(1).unwrap().starts_with("7f3a02  "),
            "{listed}"
        );
        assert_eq!(listed.lines().count(), 2, "{listed}");
        assert_eq!(host.store.jobs().unwrap().len(), 3);
        let error = cancel(&host, "ffff", "cli:test", &mut Vec::new()).unwrap_err();
        assert!(error
            .to_string()
            .starts_with("no scheduled request has an id starting with ffff"));
    }

    #[test]
    fn a_whole_id_in_any_case_cancels_one_audited_and_the_list_shows_the_rest() {
        let host = fake();
        let mut out = Vec::new();
        cancel(&host, "7F3A02", "cli:test", &mut out).unwrap();
        let said = String::from_utf8(out).unwrap();
        assert!(
            said.starts_with("cancelled 7f3a: the request to deploy")
                && said.contains("version=1.3")
                && said.ends_with("(audited as cancelled by cli:test)\n"),
            "{said}"
        );
        let newest = host.store.audit_newest_first().next().unwrap().unwrap();
        assert_eq!(
            newest.reason.as_deref(),
            Some("cancelled by cli:test before its time")
        );
        assert_eq!(newest.user, "alice");
        let mut out = Vec::new();
        list(&host, &mut out).unwrap();
        let listed = String::from_utf8(out).unwrap();
        assert_eq!(listed.lines().count(), 2, "{listed}");
        assert!(
            listed.contains("in ops, asked by alice: the request to deploy"),
            "{listed}"
        );
        assert!(!listed.contains("version=1.3"), "{listed}");
    }
}
