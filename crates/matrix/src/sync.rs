//! Reading rooms without losing a message. A sync response carries at most
//! `sync_timeline_limit` events per room; when more happened since the last
//! sync (a burst, or the bot was down), the room's timeline comes back
//! `limited` and the events before it are fetched with `/messages`, back to the
//! previous sync token, and handed on first, in order.
//!
//! The token the bot resumes from is its own (`sync-token` in the data
//! folder), advanced only when every message of the batches up to it has been
//! handled: a crash mid-batch redelivers those messages on the next start, and
//! the runtime's record of handled event ids keeps each to at most once.

use std::collections::{HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use matrix_sdk::deserialized_responses::TimelineEvent;
use matrix_sdk::room::MessagesOptions;
use matrix_sdk::ruma::api::client::sync::sync_events::v3::Filter;
use matrix_sdk::ruma::events::room::message::OriginalSyncRoomMessageEvent;
use matrix_sdk::ruma::events::{
    AnySyncMessageLikeEvent, AnySyncTimelineEvent, SyncMessageLikeEvent,
};
use matrix_sdk::sync::SyncResponse;
use matrix_sdk::{Client, Room};
use opsbot_runtime::ConversationKey;

use crate::{MatrixError, Shared};

/// Events per page when filling a gap.
const GAP_PAGE: u32 = 100;
/// Pages per gap at most (a bot down for days in a busy room stops here,
/// and says so in its log).
const GAP_PAGES: usize = 50;

/// The sync filter: how many timeline events per room one response may hold.
pub fn filter(timeline_limit: u32) -> Filter {
    use matrix_sdk::ruma::api::client::filter::FilterDefinition;
    let mut definition = FilterDefinition::default();
    definition.room.timeline.limit = Some(timeline_limit.into());
    Filter::FilterDefinition(definition)
}

/// The saved sync token, written atomically.
pub struct SavedToken {
    path: PathBuf,
}

impl SavedToken {
    pub fn new(data_dir: &Path) -> SavedToken {
        SavedToken {
            path: data_dir.join("sync-token"),
        }
    }

    pub fn load(&self) -> Option<String> {
        let token = std::fs::read_to_string(&self.path).ok()?;
        let token = token.trim();
        (!token.is_empty()).then(|| token.to_string())
    }

    pub fn save(&self, token: &str) -> Result<(), MatrixError> {
        let tmp = self.path.with_extension("tmp");
        let io = |source| MatrixError::Io {
            path: self.path.clone(),
            source,
        };
        std::fs::write(&tmp, token).map_err(io)?;
        std::fs::File::open(&tmp)
            .and_then(|f| f.sync_all())
            .map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
}

/// Batches whose messages are still being handled, oldest first.
#[derive(Default)]
pub(crate) struct Progress {
    batches: Mutex<VecDeque<(String, Arc<AtomicUsize>)>>,
}

/// Held by each message of a batch until it has been handled.
pub(crate) struct Pending(Arc<AtomicUsize>);

impl Drop for Pending {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Progress {
    /// Opens a batch that ends at `next_batch`.
    fn open(&self, next_batch: &str) -> Arc<AtomicUsize> {
        let count = Arc::new(AtomicUsize::new(0));
        self.batches
            .lock()
            .expect("progress lock")
            .push_back((next_batch.to_string(), count.clone()));
        count
    }

    /// The newest token whose batch, and every batch before it, is handled;
    /// those batches are forgotten.
    pub fn settled(&self) -> Option<String> {
        let mut batches = self.batches.lock().expect("progress lock");
        let mut settled = None;
        while batches
            .front()
            .is_some_and(|(_, count)| count.load(Ordering::Acquire) == 0)
        {
            settled = batches.pop_front().map(|(token, _)| token);
        }
        settled
    }
}

fn pending(count: &Arc<AtomicUsize>) -> Pending {
    count.fetch_add(1, Ordering::AcqRel);
    Pending(count.clone())
}

/// A timeline event as a room message, if it is one (undecryptable and other
/// events are not).
fn as_message(event: &TimelineEvent) -> Option<OriginalSyncRoomMessageEvent> {
    match event.raw().deserialize() {
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomMessage(
            SyncMessageLikeEvent::Original(message),
        ))) => Some(message),
        Ok(AnySyncTimelineEvent::MessageLike(AnySyncMessageLikeEvent::RoomEncrypted(_))) => {
            tracing::warn!(
                event = ?event.event_id(),
                "an encrypted message could not be decrypted; it is not answered"
            );
            None
        }
        _ => None,
    }
}

/// The events between the previous sync (`since`) and a limited timeline's
/// start (`prev_batch`), oldest first.
async fn fill_gap(room: &Room, prev_batch: &str, since: &str) -> Vec<TimelineEvent> {
    let mut events = Vec::new();
    let mut from = prev_batch.to_string();
    for page in 0.. {
        if page == GAP_PAGES {
            tracing::warn!(room = %room.room_id(), events = events.len(), "the gap in this room is too long; older messages in it are not answered");
            break;
        }
        let options = || {
            let mut options = MessagesOptions::backward().from(from.as_str());
            options.to = Some(since.to_string());
            options.limit = GAP_PAGE.into();
            options
        };
        let messages = opsbot_runtime::retry::retry(
            "fetching missed messages",
            Some(6),
            crate::backoff(),
            || room.messages(options()),
        )
        .await
        .ok();
        let Some(messages) = messages else { break };
        let last_page = messages.chunk.is_empty() || messages.end.is_none();
        events.extend(messages.chunk);
        match messages.end {
            Some(end) if !last_page => from = end,
            _ => break,
        }
    }
    events.reverse();
    events
}

/// Hands every room message of a sync response to the runtime's ingress,
/// each room's gap (if any) first.
pub(crate) async fn dispatch(
    client: &Client,
    shared: &Arc<Shared>,
    response: SyncResponse,
    since: Option<&str>,
) {
    let batch = shared.progress.open(&response.next_batch);
    for (room_id, update) in response.rooms.joined {
        let Some(room) = client.get_room(&room_id) else {
            continue;
        };
        let timeline = update.timeline;
        let gap = match (timeline.limited, timeline.prev_batch.as_deref(), since) {
            (true, Some(prev_batch), Some(since)) => {
                let gap = fill_gap(&room, prev_batch, since).await;
                tracing::info!(room = %room_id, fetched = gap.len(), "the sync skipped events; fetched them");
                gap
            }
            _ => Vec::new(),
        };
        let mut seen = HashSet::new();
        for event in gap.iter().chain(&timeline.events) {
            let Some(message) = as_message(event) else {
                continue;
            };
            if !seen.insert(message.event_id.clone()) {
                continue;
            }
            // Pushed in timeline order and never awaited before the push: the
            // messages of one person in one room are handled in the order sent,
            // while other conversations run concurrently.
            let key = ConversationKey::new(room_id.as_str(), message.sender.as_str());
            let prepared =
                crate::message::prepare(shared.clone(), message, room.clone(), pending(&batch));
            shared.runtime.ingress().push_with(key, prepared);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_advances_only_past_fully_handled_batches() {
        let progress = Progress::default();
        let first = progress.open("t1");
        let second = progress.open("t2");
        let third = progress.open("t3");
        let a = pending(&first);
        let b = pending(&second);
        let _c = pending(&third);
        assert_eq!(progress.settled(), None, "nothing handled yet");
        drop(b);
        assert_eq!(progress.settled(), None, "t1 still holds the line");
        drop(a);
        assert_eq!(progress.settled().as_deref(), Some("t2"));
        assert_eq!(progress.settled(), None, "t3 still running");
        let empty = progress.open("t4");
        drop(empty);
        assert_eq!(progress.settled(), None);
    }

    #[test]
    fn the_saved_token_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let saved = SavedToken::new(dir.path());
        assert_eq!(saved.load(), None);
        saved.save("s72_1_2").unwrap();
        assert_eq!(saved.load().as_deref(), Some("s72_1_2"));
    }
}
