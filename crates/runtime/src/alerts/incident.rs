//! Incidents for a postmortem, from the alert timeline and the audit trail:
//! an incident of a group starts when its first alert fires and ends when
//! its last firing alert resolves; the first action is the first audited
//! request made about that group in between.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::event::{AlertEvent, AlertEventKind};
use crate::audit::AuditRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub room: String,
    pub group: String,
    /// What fired first ("ApacheDown on web-01").
    pub subject: String,
    pub fired: DateTime<Utc>,
    /// When someone first acted about it, and who.
    pub first_action: Option<(DateTime<Utc>, String)>,
    pub resolved: Option<DateTime<Utc>>,
}

/// The incidents in `events` (oldest first), with the first action from `records`.
pub fn incidents(events: &[AlertEvent], records: &[AuditRecord]) -> Vec<Incident> {
    let mut open: BTreeMap<&str, (Incident, BTreeSet<&str>)> = BTreeMap::new();
    let mut done = Vec::new();
    for event in events.iter().filter(|e| !e.group.is_empty()) {
        match event.kind {
            AlertEventKind::Fired => {
                let (_, firing) = open.entry(&event.group).or_insert_with(|| {
                    (
                        Incident {
                            room: event.room.clone(),
                            group: event.group.clone(),
                            subject: event.subject.clone(),
                            fired: event.at,
                            first_action: None,
                            resolved: None,
                        },
                        BTreeSet::new(),
                    )
                });
                firing.insert(&event.subject);
            }
            AlertEventKind::Resolved => {
                let Some((_, firing)) = open.get_mut(event.group.as_str()) else {
                    continue;
                };
                firing.remove(event.subject.as_str());
                if firing.is_empty() {
                    let (mut incident, _) = open.remove(event.group.as_str()).expect("open");
                    incident.resolved = Some(event.at);
                    done.push(incident);
                }
            }
            AlertEventKind::Muted | AlertEventKind::Unmuted => {}
        }
    }
    done.extend(open.into_values().map(|(incident, _)| incident));
    for incident in &mut done {
        let end = incident.resolved.unwrap_or(DateTime::<Utc>::MAX_UTC);
        incident.first_action = records
            .iter()
            .filter(|r| r.alert.as_ref().is_some_and(|a| a.id == incident.group))
            .filter(|r| r.time >= incident.fired && r.time <= end)
            .map(|r| (r.time, r.user.clone()))
            .min();
    }
    done.sort_by_key(|i| i.fired);
    done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(minute: i64, group: &str, subject: &str, kind: AlertEventKind) -> AlertEvent {
        AlertEvent {
            at: DateTime::<Utc>::from_timestamp(1_700_000_000 + minute * 60, 0).unwrap(),
            room: "!room".into(),
            group: group.into(),
            kind,
            subject: subject.into(),
            by: None,
            detail: String::new(),
        }
    }

    #[test]
    fn an_incident_runs_from_the_first_firing_to_the_last_resolution() {
        use AlertEventKind::*;
        let events = [
            event(0, "g1", "Down on a", Fired),
            event(2, "g1", "Down on b", Fired),
            event(5, "g1", "Down on a", Resolved),
            event(7, "g1", "Down on b", Resolved),
            event(8, "g2", "Disk on c", Fired),
            event(20, "g1", "Down on a", Fired),
        ];
        let mut acted = AuditRecord::test_record("restart");
        acted.time = events[2].at - chrono::Duration::minutes(2);
        acted.user = "alice".into();
        acted.alert = Some(opsbot_dialog::AlertLink {
            id: "g1".into(),
            name: "Down".into(),
        });
        let found = incidents(&events, &[acted]);
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].subject, "Down on a");
        assert_eq!(found[0].resolved, Some(events[3].at));
        assert_eq!(
            found[0].first_action.as_ref().map(|(_, who)| who.as_str()),
            Some("alice")
        );
        assert_eq!((found[1].group.as_str(), found[1].resolved), ("g2", None));
        assert_eq!(
            found[2].first_action, None,
            "the action belonged to the earlier incident"
        );
    }
}
