//! The sled store's alert trees: groups by (room, group key), the timeline by
//! time, and mutes by (room, target). The `Store` impl delegates here.

use chrono::{DateTime, Utc};
use sled::transaction::TransactionError;
use sled::Transactional;

use super::sled_store::SledStore;
use super::{corrupt, json, AlertStore};
use crate::alerts::{AlertEvent, AlertGroup, Mute};
use crate::RuntimeError;

impl SledStore {
    pub(super) fn sled_save_alerts(
        &self,
        groups: &[AlertGroup],
        events: &[AlertEvent],
    ) -> Result<(), RuntimeError> {
        (&self.alerts, &self.alert_events)
            .transaction(|(alerts, timeline)| {
                for group in groups {
                    alerts.insert(
                        AlertGroup::id(&group.room, &group.group_key).as_bytes(),
                        json(group),
                    )?;
                }
                for event in events {
                    let mut key = event.at.timestamp_micros().to_be_bytes().to_vec();
                    key.extend_from_slice(&timeline.generate_id()?.to_be_bytes());
                    timeline.insert(key, json(event))?;
                }
                Ok(())
            })
            .map_err(|e: TransactionError<()>| match e {
                TransactionError::Storage(e) => SledStore::error(e),
                TransactionError::Abort(()) => unreachable!("the transaction never aborts"),
            })?;
        self.flush()?;
        Ok(())
    }

    pub(super) fn sled_alert_events(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Result<Vec<AlertEvent>, RuntimeError> {
        let start = since
            .map_or(i64::MIN, |s| s.timestamp_micros())
            .to_be_bytes();
        let mut events = Vec::new();
        // Times before 1970 would sort after later ones as unsigned bytes;
        // alerts carry real times, and a scan from the start misses none.
        let scan = if since.is_some_and(|s| s.timestamp_micros() >= 0) {
            self.alert_events.range(start.to_vec()..)
        } else {
            self.alert_events.range(Vec::<u8>::new()..)
        };
        for item in scan {
            let (_, bytes) = item.map_err(SledStore::error)?;
            let event: AlertEvent =
                serde_json::from_slice(&bytes).map_err(|e| corrupt("alert event", e))?;
            if since.is_none_or(|s| event.at >= s) {
                events.push(event);
            }
        }
        Ok(events)
    }

    pub(super) fn sled_alert_group(&self, id: &str) -> Result<Option<AlertGroup>, RuntimeError> {
        match self.alerts.get(id.as_bytes()).map_err(SledStore::error)? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| corrupt("alert group", e)),
        }
    }

    pub(super) fn sled_alert_groups(&self) -> Result<Vec<AlertGroup>, RuntimeError> {
        self.alert_groups_with_prefix(b"")
    }

    pub(super) fn sled_put_mute(&self, mute: &Mute) -> Result<(), RuntimeError> {
        self.mutes
            .insert(Mute::id(&mute.room, &mute.target).as_bytes(), json(mute))
            .map_err(SledStore::error)?;
        self.flush()?;
        Ok(())
    }

    pub(super) fn sled_remove_mute(&self, id: &str) -> Result<bool, RuntimeError> {
        let existed = self
            .mutes
            .remove(id.as_bytes())
            .map_err(SledStore::error)?
            .is_some();
        self.flush()?;
        Ok(existed)
    }

    pub(super) fn sled_mutes_in(&self, room: &str) -> Result<Vec<Mute>, RuntimeError> {
        let mut mutes = Vec::new();
        for item in self.mutes.scan_prefix(Mute::id(room, "").as_bytes()) {
            let (_, bytes) = item.map_err(SledStore::error)?;
            mutes.push(serde_json::from_slice(&bytes).map_err(|e| corrupt("mute", e))?);
        }
        Ok(mutes)
    }

    pub(super) fn sled_alert_groups_in(&self, room: &str) -> Result<Vec<AlertGroup>, RuntimeError> {
        // Group ids are `room NUL group key`: the room and its NUL are a prefix.
        self.alert_groups_with_prefix(AlertGroup::id(room, "").as_bytes())
    }
    fn alert_groups_with_prefix(&self, prefix: &[u8]) -> Result<Vec<AlertGroup>, RuntimeError> {
        let mut groups = Vec::new();
        for item in self.alerts.scan_prefix(prefix) {
            let (_, bytes) = item.map_err(SledStore::error)?;
            groups.push(serde_json::from_slice(&bytes).map_err(|e| corrupt("alert group", e))?);
        }
        Ok(groups)
    }

    pub(super) fn sled_remove_alert_groups(&self, ids: &[String]) -> Result<(), RuntimeError> {
        let mut batch = sled::Batch::default();
        for id in ids {
            batch.remove(id.as_bytes());
        }
        self.alerts.apply_batch(batch).map_err(SledStore::error)?;
        self.flush()?;
        Ok(())
    }
}

impl AlertStore for SledStore {
    fn save_alerts(
        &self,
        groups: &[AlertGroup],
        events: &[AlertEvent],
    ) -> Result<(), RuntimeError> {
        self.sled_save_alerts(groups, events)
    }

    fn alert_events(&self, since: Option<DateTime<Utc>>) -> Result<Vec<AlertEvent>, RuntimeError> {
        self.sled_alert_events(since)
    }

    fn alert_group(&self, id: &str) -> Result<Option<AlertGroup>, RuntimeError> {
        self.sled_alert_group(id)
    }

    fn alert_groups(&self) -> Result<Vec<AlertGroup>, RuntimeError> {
        self.sled_alert_groups()
    }

    fn remove_alert_groups(&self, ids: &[String]) -> Result<(), RuntimeError> {
        self.sled_remove_alert_groups(ids)
    }

    fn put_mute(&self, mute: &Mute) -> Result<(), RuntimeError> {
        self.sled_put_mute(mute)
    }

    fn remove_mute(&self, id: &str) -> Result<bool, RuntimeError> {
        self.sled_remove_mute(id)
    }

    fn mutes_in(&self, room: &str) -> Result<Vec<Mute>, RuntimeError> {
        self.sled_mutes_in(room)
    }

    fn alert_groups_in(&self, room: &str) -> Result<Vec<AlertGroup>, RuntimeError> {
        self.sled_alert_groups_in(room)
    }
}
