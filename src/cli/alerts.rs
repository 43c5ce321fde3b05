//! `opsbot alerts`: the alert groups the bot keeps (open ones unless `--all`),
//! whether each room has been told, and the mutes in force.

use std::io::Write;

use super::audit::shown;
use super::*;
use opsbot_runtime::Store;

pub(crate) fn alerts(store: &dyn Store, args: &AlertsArgs, out: &mut dyn Write) -> Result<()> {
    let now = chrono::Utc::now();
    let mut groups = store.alert_groups()?;
    groups.retain(|g| args.all || !g.is_resolved());
    groups.sort_by_key(|g| std::cmp::Reverse(g.updated_at));
    if groups.is_empty() {
        writeln!(
            out,
            "no {}alert groups",
            if args.all { "" } else { "open " }
        )?;
    }
    for group in &groups {
        let state = if group.is_resolved() {
            "resolved".to_string()
        } else {
            format!("{} of {} firing", group.firing(), group.alerts.len())
        };
        let room_state = match (&group.message, group.needs_delivery()) {
            (Some(_), false) => "room up to date",
            (Some(_), true) => "edit pending",
            (None, _) => "not posted yet (held by a mute, or the homeserver was away)",
        };
        writeln!(
            out,
            "{}  {}  {state}  since {}  [{}; route {}]",
            shown(&group.room),
            shown(&group.name()),
            group.opened_at.format("%Y-%m-%d %H:%M UTC"),
            room_state,
            shown(&group.route),
        )?;
    }
    let mut rooms: Vec<&str> = groups.iter().map(|g| g.room.as_str()).collect();
    rooms.sort();
    rooms.dedup();
    let mut mutes = Vec::new();
    for room in rooms.iter().copied().chain(args.room.as_deref()) {
        mutes.extend(store.mutes_in(room)?.into_iter().filter(|m| m.active(now)));
    }
    mutes.dedup_by(|a, b| a.room == b.room && a.target == b.target);
    for mute in mutes {
        writeln!(
            out,
            "muted in {}: {} until {} (by {})",
            shown(&mute.room),
            shown(&mute.target),
            mute.until.format("%Y-%m-%d %H:%M UTC"),
            shown(&mute.by)
        )?;
    }
    Ok(())
}
