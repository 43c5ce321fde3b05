//! What keeps an alert group from getting a message of its own: a mute in
//! its room, the room's quiet hours (critical alerts pass), or its route's
//! rate limit. Groups held by quiet hours or a rate limit join one digest
//! message per room and reason, which is edited as its members change (a
//! quiet-hours digest is posted when the quiet hours end).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::AlertDesk;
use crate::alerts::{AlertGroup, Mute};
use crate::RuntimeError;

/// What one delivery pass has learnt about rooms, so each is read once.
#[derive(Default)]
pub(super) struct Holds {
    mutes: HashMap<String, Vec<Mute>>,
    /// (room, route) → messages posted within the route's window.
    posted: HashMap<(String, String), u32>,
}

impl Holds {
    /// Counts a message just posted for its route's rate limit.
    pub(super) fn posted(&mut self, group: &AlertGroup) {
        if let Some(count) = self
            .posted
            .get_mut(&(group.room.clone(), group.route.clone()))
        {
            *count += 1;
        }
    }
}

impl AlertDesk {
    /// Whether `group` (never posted, not a digest) must wait: muted, or put
    /// into a digest.
    pub(super) async fn hold(
        &self,
        group: &AlertGroup,
        now: DateTime<Utc>,
        holds: &mut Holds,
    ) -> Result<bool, RuntimeError> {
        if !holds.mutes.contains_key(&group.room) {
            let active = self
                .floor
                .store
                .mutes_in(&group.room)?
                .into_iter()
                .filter(|m| m.active(now))
                .collect();
            holds.mutes.insert(group.room.clone(), active);
        }
        // A muted group waits; one that came and went while muted was
        // settled when it resolved (`AlertDesk::accept`).
        if group.is_muted_by(&holds.mutes[&group.room]) {
            return Ok(true);
        }
        let loaded = self.model.snapshot();
        let Some(settings) = &loaded.project.settings.alerts else {
            return Ok(false);
        };
        let critical = opsbot_spec::alerts::severity_rank("critical");
        if group.severity() < critical {
            let quiet_until = settings
                .quiet_hours
                .iter()
                .filter(|q| q.rooms.contains(&group.room))
                .filter_map(|q| q.ends_after(now))
                .max();
            if let Some(end) = quiet_until {
                let title = format!(
                    "🌙 Held during quiet hours, until {} UTC",
                    end.format("%Y-%m-%d %H:%M")
                );
                let key = format!("quiet:{}", end.timestamp());
                self.join_digest(group, &key, title, Some(end), now).await?;
                return Ok(true);
            }
        }
        let Some(route) = settings.routes.iter().find(|r| r.name == group.route) else {
            return Ok(false);
        };
        let Some(limit) = route.rate_limit else {
            return Ok(false);
        };
        let per = chrono::Duration::from_std(limit.per).unwrap_or_default();
        let slot = (group.room.clone(), route.name.clone());
        if !holds.posted.contains_key(&slot) {
            let count = self
                .floor
                .store
                .alert_groups_in(&group.room)?
                .iter()
                .filter(|g| g.route == route.name && g.digest.is_none())
                .filter(|g| g.posted_at.is_some_and(|at| now - at < per))
                .count() as u32;
            holds.posted.insert(slot.clone(), count);
        }
        if holds.posted[&slot] < limit.messages {
            return Ok(false);
        }
        let window = now.timestamp() / (limit.per.as_secs().max(1) as i64);
        let title = format!(
            "📋 More alerts for route {} than its {} messages per {}",
            route.name,
            limit.messages,
            humantime::format_duration(limit.per)
        );
        let key = format!("rate:{}:{window}", route.name);
        self.join_digest(group, &key, title, None, now).await?;
        Ok(true)
    }

    /// Puts `member` into the digest `key` of its room (made when missing)
    /// and renders the digest anew.
    async fn join_digest(
        &self,
        member: &AlertGroup,
        key: &str,
        title: String,
        hold_until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(), RuntimeError> {
        let _merging = self.lock.lock().await;
        let digest_key = format!("{}{key}", crate::alerts::DIGEST_PREFIX);
        let mut digest = self
            .floor
            .store
            .alert_group(&AlertGroup::id(&member.room, &digest_key))?
            .unwrap_or_else(|| {
                AlertGroup::new_digest(&member.room, &member.route, key, title, hold_until, now)
            });
        let member_id = AlertGroup::id(&member.room, &member.group_key);
        let mut current = self
            .floor
            .store
            .alert_group(&member_id)?
            .unwrap_or_else(|| member.clone());
        current.in_digest = Some(digest.group_key.clone());
        current.delivered = Some(current.text.clone());
        if let Some(d) = digest.digest.as_mut() {
            if !d.members.contains(&member_id) {
                d.members.push(member_id.clone());
            }
        }
        self.render_digest(&mut digest, &current, now)?;
        self.floor
            .blocking(move |store| store.save_alerts(&[current, digest], &[]))
            .await?;
        self.pending.notify_one();
        Ok(())
    }

    /// A digest member changed: its digest shows the change.
    pub(super) async fn refresh_digest_of(
        &self,
        member: &AlertGroup,
        now: DateTime<Utc>,
    ) -> Result<(), RuntimeError> {
        let Some(digest_key) = &member.in_digest else {
            return Ok(());
        };
        let _merging = self.lock.lock().await;
        let member_id = AlertGroup::id(&member.room, &member.group_key);
        let mut current = self
            .floor
            .store
            .alert_group(&member_id)?
            .unwrap_or_else(|| member.clone());
        let digest = self
            .floor
            .store
            .alert_group(&AlertGroup::id(&member.room, digest_key))?;
        let mut saved = Vec::new();
        match digest {
            Some(mut digest) => {
                current.delivered = Some(current.text.clone());
                self.render_digest(&mut digest, &current, now)?;
                saved.push(digest);
            }
            // The digest is gone: the group speaks for itself again.
            None => current.in_digest = None,
        }
        saved.push(current);
        self.floor
            .blocking(move |store| store.save_alerts(&saved, &[]))
            .await?;
        self.pending.notify_one();
        Ok(())
    }

    /// Renders `digest` from its members as stored, `changed` in place of its own.
    fn render_digest(
        &self,
        digest: &mut AlertGroup,
        changed: &AlertGroup,
        now: DateTime<Utc>,
    ) -> Result<(), RuntimeError> {
        let changed_id = AlertGroup::id(&changed.room, &changed.group_key);
        let ids = digest
            .digest
            .as_ref()
            .map(|d| d.members.clone())
            .unwrap_or_default();
        let mut members = Vec::with_capacity(ids.len());
        for id in &ids {
            if *id == changed_id {
                members.push(changed.clone());
            } else if let Some(member) = self.floor.store.alert_group(id)? {
                members.push(member);
            }
        }
        let refs: Vec<&AlertGroup> = members.iter().collect();
        digest.render_digest(&refs, now);
        Ok(())
    }
}

impl AlertDesk {
    /// Who an alert group's first message addresses, from its route's
    /// `mention:` (a person is addressed by their Matrix id when they have
    /// one); `None` when the route names nobody or the rota has no row.
    pub(super) fn mention_for(&self, group: &AlertGroup) -> Option<String> {
        use opsbot_spec::alerts::Mention;
        let loaded = self.model.snapshot();
        let settings = &loaded.project.settings;
        let route = settings
            .alerts
            .as_ref()?
            .routes
            .iter()
            .find(|r| r.name == group.route)?;
        let who = match route.mention.as_ref()? {
            Mention::Fixed(who) => who.clone(),
            Mention::Rota { file, key, column } => {
                let alert = group.alerts.values().find(|a| a.firing)?;
                let key = key.render(&alert.labels, &alert.annotations)?;
                let path = loaded.project.root.join(file);
                let rota = match std::fs::read_to_string(&path) {
                    Ok(rota) => rota,
                    Err(error) => {
                        tracing::warn!(path = %path.display(), %error, "cannot read the on-call rota; the alert mentions nobody");
                        return None;
                    }
                };
                rota.lines()
                    .filter(|l| !l.starts_with('#'))
                    .map(|l| l.split('\t').collect::<Vec<_>>())
                    .find(|cells| cells.first() == Some(&key.as_str()))
                    .and_then(|cells| cells.get(column - 1).map(|c| c.trim().to_string()))
                    .filter(|c| !c.is_empty())?
            }
        };
        let ids = settings.people.ids_like(&who);
        Some(
            ids.iter()
                .find(|id| id.starts_with('@'))
                .cloned()
                .unwrap_or(who),
        )
    }
}
