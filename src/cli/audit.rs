//! `opsbot audit` (list, verify) and `opsbot 2fa`: the trail and its second
//! factor, printed terminal-safe. Each writes to `out` from a store it is
//! given, the command line's own or the running bot's (see `operator`).

use std::io::Write;

use super::operator::Host;
use super::*;
use opsbot_runtime::{ChainHead, RuntimeError, Store, Verification};

/// How often `audit verify` reads a trail the running bot wrote to meanwhile.
const VERIFY_ATTEMPTS: usize = 3;

/// `audit verify` on an open store: its keyed chain and its checkpoint copy.
/// A running bot may append records while the trail is read, which can look
/// like a head out of step with the records; so a verification with
/// problems during which the head moved is done again.
pub(crate) fn verify(store: &dyn Store, out: &mut dyn Write) -> Result<()> {
    let verification = settled(|| store.chain_head(), || store.verify_audit())?;
    for note in &verification.notes {
        writeln!(out, "note: {note}")?;
    }
    if verification.problems.is_empty() {
        writeln!(
            out,
            "ok: {} audit records, keyed hash chain intact and matching its checkpoint copy",
            verification.records
        )?;
        return Ok(());
    }
    for problem in &verification.problems {
        writeln!(out, "{problem}")?;
    }
    bail!(
        "the audit trail does not verify: {} problem(s) in {} records",
        verification.problems.len(),
        verification.records
    )
}

/// A verification of a trail that did not grow while it was read: one with
/// problems is done again (up to [`VERIFY_ATTEMPTS`] times) when the head
/// moved meanwhile.
fn settled(
    head: impl Fn() -> Result<Option<ChainHead>, RuntimeError>,
    verify: impl Fn() -> Result<Verification, RuntimeError>,
) -> Result<Verification, RuntimeError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let before = head()?;
        let verification = verify()?;
        if verification.problems.is_empty() || attempts == VERIFY_ATTEMPTS || head()? == before {
            return Ok(verification);
        }
    }
}

/// `audit verify` when the store folder is gone: the checkpoint copy is read
/// instead, and any record in it means the store lost them (exit 1).
pub(super) fn verify_copy_without_store(store_path: &Path) -> Result<()> {
    let copy_path = opsbot_runtime::seal::default_checkpoints(store_path);
    let copy = opsbot_runtime::checkpoints::Checkpoints::new(copy_path.clone()).read()?;
    if copy.records.is_empty() && copy.damaged.is_empty() {
        println!(
            "no audit records yet ({} does not exist, and no checkpoint copy holds any)",
            store_path.display()
        );
        return Ok(());
    }
    let key_file = opsbot_runtime::seal::default_key_file(store_path);
    let intact = match opsbot_runtime::AuditKey::load_existing(&key_file)? {
        Some(key) => {
            let verification = opsbot_runtime::audit::verify(
                copy.records.iter().cloned().map(Ok),
                copy.records
                    .last()
                    .map(|r| opsbot_runtime::audit::ChainHead {
                        id: r.id,
                        hash: r.hash.clone(),
                    }),
                &key,
                None,
            )?;
            for problem in &verification.problems {
                println!("in the copy: {problem}");
            }
            if verification.problems.is_empty() {
                "its keyed hash chain is intact"
            } else {
                "and it does not verify either"
            }
        }
        None => "the audit key is missing too, so it cannot be checked",
    };
    println!(
        "the store {} is missing, but its checkpoint copy {} holds {} audit record(s) (#{} to #{}); {intact}. Start the bot to restore them from the copy, or restore the store from a backup.",
        store_path.display(),
        copy_path.display(),
        copy.records.len(),
        copy.records.first().map_or(0, |r| r.id),
        copy.records.last().map_or(0, |r| r.id),
    );
    bail!(
        "the audit trail does not verify: the store is missing {} record(s) its checkpoint copy holds",
        copy.records.len()
    )
}

pub(super) fn parse_since(
    text: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.with_timezone(&chrono::Utc));
    }
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(date
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc());
    }
    let age = humantime::parse_duration(text).with_context(|| {
        format!("`{text}` is not a time, a date (2026-11-24) or an age (24h, 7d)")
    })?;
    Ok(now - chrono::Duration::from_std(age)?)
}

pub(crate) fn two_factor(
    host: &dyn Host,
    command: &TwoFactorCommand,
    out: &mut dyn Write,
) -> Result<()> {
    let store = host.store();
    match command {
        TwoFactorCommand::Enroll { user, force } => {
            let project = host.project()?;
            if store.totp(user)?.is_some() && !force {
                bail!("{user} is already enrolled; use --force to replace the secret");
            }
            let record = opsbot_runtime::TotpRecord::generate(chrono::Utc::now());
            store.put_totp(user, &record)?;
            writeln!(
                out,
                "Enrolled {user}. Add this to an authenticator app now; it is not shown again:"
            )?;
            writeln!(out, "{}", record.uri(&project.settings.name, user))?;
        }
        TwoFactorCommand::Remove { user } => {
            if !store.remove_totp(user)? {
                bail!("{user} is not enrolled");
            }
            writeln!(out, "removed {user}'s two-factor secret")?;
        }
    }
    Ok(())
}

pub(crate) fn audit(store: &dyn Store, args: &AuditArgs, out: &mut dyn Write) -> Result<()> {
    let mut shown = 0;
    for record in store.audit_newest_first() {
        let record = record?;
        let keep = args.user.as_ref().is_none_or(|u| record.user == *u)
            && args.intent.as_ref().is_none_or(|i| record.intent == *i)
            && args.grep.as_ref().is_none_or(|g| record.mentions(g));
        if !keep {
            continue;
        }
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&record)?)?;
        } else {
            print_record(&record, out)?;
        }
        shown += 1;
        if shown == args.limit {
            break;
        }
    }
    if shown == 0 && !args.json {
        writeln!(out, "no matching audit records")?;
    }
    Ok(())
}

fn print_record(r: &AuditRecord, out: &mut dyn Write) -> std::io::Result<()> {
    let result = match (r.exit_code, r.duration_ms) {
        (Some(code), Some(ms)) => format!("  exit {code} in {:.1}s", ms as f64 / 1000.0),
        _ => String::new(),
    };
    // A runbook's step: named after its request's intent.
    let step = r
        .step
        .as_ref()
        .map(|s| format!(" step {}", shown(s)))
        .unwrap_or_default();
    writeln!(
        out,
        "#{} {}  {}/{}  {}{step}  {}{}",
        r.id,
        r.time.format("%Y-%m-%d %H:%M:%S UTC"),
        shown(&r.room),
        shown(&r.user),
        shown(&r.intent),
        r.outcome.as_str(),
        result
    )?;
    let said: Vec<String> = r.messages.iter().map(|m| format!("{m:?}")).collect();
    let mut confirmed = r
        .confirmed_by
        .as_deref()
        .map(|c| format!(", confirmed by {}", shown(c)))
        .unwrap_or_default();
    if let Some(approver) = &r.approved_by {
        confirmed.push_str(&format!(", approved by {}", shown(approver)));
    }
    if r.two_factor {
        confirmed.push_str(", with 2FA");
    }
    if r.dry_run {
        confirmed.push_str(", dry run");
    }
    writeln!(
        out,
        "    said: {} (confidence {:.2}{confirmed})",
        said.join(" → "),
        r.confidence
    )?;
    if !r.slots.is_empty() {
        let slots: Vec<String> = r
            .slots
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k}={} ({})",
                    shown(&v.value),
                    serde_json::to_value(v.origin)
                        .ok()
                        .and_then(|o| o.as_str().map(str::to_string))
                        .unwrap_or_default()
                )
            })
            .collect();
        writeln!(out, "    slots: {}", slots.join(", "))?;
    }
    if let Some(command) = &r.command {
        let verb = if r.outcome == opsbot_runtime::AuditOutcome::NotStarted {
            "tried"
        } else {
            "ran"
        };
        writeln!(out, "    {verb}: {}", shown(command))?;
    }
    if let Some(reason) = &r.reason {
        writeln!(out, "    why: {}", shown(reason))?;
    }
    if r.access != "allowed" {
        writeln!(out, "    access: {}", shown(&r.access))?;
    }
    if let Some(output) = r.output.as_deref().filter(|o| !o.trim().is_empty()) {
        for (i, line) in output.trim_end().lines().enumerate() {
            writeln!(
                out,
                "    {}{}",
                if i == 0 { "output: " } else { "        " },
                shown(line)
            )?;
        }
    }
    Ok(())
}

/// Text from users or actions as it may be printed on a terminal: control
/// characters (ESC, CR, …) and bidirectional overrides are written as escapes,
/// so a crafted user name or output cannot fake or hide audit lines.
pub(super) fn shown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}');
        if c.is_control() || bidi {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;

    fn head(id: u64) -> Option<ChainHead> {
        Some(ChainHead {
            id,
            hash: format!("h{id}"),
        })
    }

    fn verification(problems: &[&str]) -> Verification {
        Verification {
            records: 3,
            problems: problems.iter().map(|p| p.to_string()).collect(),
            notes: Vec::new(),
        }
    }

    /// A record appended while the trail was read looks like a head out of
    /// step; read again, the trail verifies.
    #[test]
    fn a_trail_that_grew_while_it_was_read_is_verified_again() {
        let (reads, verifications) = (Cell::new(0), Cell::new(0));
        let verified = settled(
            || {
                reads.set(reads.get() + 1);
                Ok(head(if reads.get() == 1 { 3 } else { 4 }))
            },
            || {
                verifications.set(verifications.get() + 1);
                Ok(verification(if verifications.get() == 1 {
                    &["the newest record should be #3 but the trail ends at #4"]
                } else {
                    &[]
                }))
            },
        )
        .unwrap();
        assert!(verified.problems.is_empty());
        assert_eq!(verifications.get(), 2);
    }

    /// Problems in a trail that did not move are told at once; a trail that
    /// keeps moving is told as found after the last attempt.
    #[test]
    fn problems_in_a_still_trail_are_told_at_once() {
        let verifications = Cell::new(0);
        let still = settled(
            || Ok(head(3)),
            || {
                verifications.set(verifications.get() + 1);
                Ok(verification(&["record #2 was edited"]))
            },
        )
        .unwrap();
        assert_eq!(still.problems, ["record #2 was edited"]);
        assert_eq!(verifications.get(), 1);
        let (reads, verifications) = (Cell::new(0), Cell::new(0));
        let moving = settled(
            || {
                reads.set(reads.get() + 1);
                Ok(head(reads.get()))
            },
            || {
                verifications.set(verifications.get() + 1);
                Ok(verification(&["record #2 was edited"]))
            },
        )
        .unwrap();
        assert_eq!(moving.problems.len(), 1);
        assert_eq!(verifications.get(), VERIFY_ATTEMPTS);
    }
}
