//! The bot's outgoing messages: one ordered queue per room, and one pace for
//! the whole account, because a homeserver's message rate limit is per
//! account (Synapse's stock limit is 0.2 messages a second, bursts of 10).
//!
//! A `429 Too Many Requests` is waited out for as long as the homeserver asks
//! (`retry_after`), and later messages are spaced out until the account has
//! been quiet for a while, so a burst costs a few refused requests, not one
//! per retry. A newer edit of a message whose edit is still waiting replaces
//! it (only the latest text of a "still running" line matters). Each message
//! keeps one transaction id across its retries, so a send whose answer was lost
//! is not posted twice.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use matrix_sdk::config::RequestConfig;
use matrix_sdk::ruma::api::error::{ErrorKind, RetryAfter};
use matrix_sdk::ruma::events::room::message::{Relation, RoomMessageEventContent};
use matrix_sdk::ruma::{OwnedEventId, OwnedRoomId, TransactionId};
use matrix_sdk::Room;
use tokio::sync::{oneshot, Notify};
use tokio::time::Instant;

/// Attempts per message when the homeserver is unreachable or fails (waits
/// doubling from half a second to [`crate::MAX_BACKOFF`]: a few minutes).
const ATTEMPTS: u32 = 12;
/// After this long without a message, the learned spacing is forgotten: the
/// homeserver's bucket has refilled.
const QUIET_RESET: Duration = Duration::from_secs(60);
/// The longest spacing kept between messages after a rate limit.
const MAX_SPACING: Duration = Duration::from_secs(30);

/// Sends the bot's messages, in order per room, paced for the account.
#[derive(Clone)]
pub struct Outbox {
    rooms: Arc<Mutex<HashMap<OwnedRoomId, Arc<RoomQueue>>>>,
    pace: Arc<Mutex<Pace>>,
    counts: Arc<Mutex<Counts>>,
    /// Told of each retry, rate limit and message given up (for metrics).
    noted: Arc<dyn Fn(&'static str) + Send + Sync>,
}

impl Default for Outbox {
    fn default() -> Self {
        Outbox {
            rooms: Arc::default(),
            pace: Arc::default(),
            counts: Arc::default(),
            noted: Arc::new(|_| {}),
        }
    }
}

/// What the outbox has met so far (logged when the adapter stops).
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub sent: u64,
    pub rate_limited: u64,
    pub coalesced: u64,
    pub given_up: u64,
}

#[derive(Default)]
struct RoomQueue {
    jobs: Mutex<VecDeque<Job>>,
    wake: Notify,
}

struct Job {
    content: RoomMessageEventContent,
    /// The message an edit replaces: a later edit of it takes this one's place.
    replaces: Option<OwnedEventId>,
    done: Vec<oneshot::Sender<Option<OwnedEventId>>>,
}

impl Job {
    fn new(content: RoomMessageEventContent, done: oneshot::Sender<Option<OwnedEventId>>) -> Job {
        let replaces = match &content.relates_to {
            Some(Relation::Replacement(r)) => Some(r.event_id.clone()),
            _ => None,
        };
        Job {
            content,
            replaces,
            done: vec![done],
        }
    }
}

/// Queues `job` last, or, if it edits a message whose edit still waits, in
/// that edit's place (its text is newer; both senders get the result).
/// Returns whether it took a waiting edit's place.
fn enqueue(jobs: &mut VecDeque<Job>, job: Job) -> bool {
    let waiting = job.replaces.as_ref().and_then(|target| {
        jobs.iter_mut()
            .find(|waiting| waiting.replaces.as_ref() == Some(target))
    });
    match waiting {
        Some(waiting) => {
            waiting.content = job.content;
            waiting.done.extend(job.done);
            true
        }
        None => {
            jobs.push_back(job);
            false
        }
    }
}

/// When the next message may go.
struct Pace {
    not_before: Instant,
    spacing: Duration,
    last: Instant,
}

impl Default for Pace {
    fn default() -> Self {
        let now = Instant::now();
        Pace {
            not_before: now,
            spacing: Duration::ZERO,
            last: now,
        }
    }
}

impl Pace {
    /// Takes the next slot at `now`: the instant this message may be sent.
    fn reserve(&mut self, now: Instant) -> Instant {
        if now.saturating_duration_since(self.last) > QUIET_RESET {
            self.spacing = Duration::ZERO;
        }
        let at = self.not_before.max(now);
        self.not_before = at + self.spacing;
        self.last = at;
        at
    }

    /// The homeserver asked to wait `after`: nothing goes before then, and
    /// later messages are spaced for a while. A refusal despite the spacing
    /// shows the homeserver's rate is slower by about `after` (Synapse rounds
    /// its hint to whole seconds, shorter than its real interval), so the
    /// spacing grows by that much.
    fn limited(&mut self, now: Instant, after: Duration) {
        self.not_before = self.not_before.max(now + after);
        self.spacing = (self.spacing + after).min(MAX_SPACING);
    }
}

/// How long a refused request should wait, when the refusal is a rate limit.
fn retry_after(error: &matrix_sdk::Error) -> Option<Duration> {
    match error.client_api_error_kind()? {
        ErrorKind::LimitExceeded(data) => Some(match &data.retry_after {
            Some(RetryAfter::Delay(delay)) => *delay,
            Some(RetryAfter::DateTime(at)) => at
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO),
            // No hint: a second, and the spacing grows if it comes again.
            None => Duration::from_secs(1),
        }),
        _ => None,
    }
}

impl Outbox {
    pub fn new() -> Outbox {
        Outbox::default()
    }

    /// An outbox that tells `noted` of each retry ("send_retry"), rate
    /// limit ("rate_limited") and message given up ("send_given_up").
    pub fn noting(noted: impl Fn(&'static str) + Send + Sync + 'static) -> Outbox {
        Outbox {
            noted: Arc::new(noted),
            ..Outbox::default()
        }
    }

    /// Queues `content` for `room` behind what is already queued there and
    /// resolves to its event id once sent (`None` if it could not be).
    pub fn send(
        &self,
        room: &Room,
        content: RoomMessageEventContent,
    ) -> impl std::future::Future<Output = Option<OwnedEventId>> + Send + 'static {
        let (done, result) = oneshot::channel();
        let queue = self.queue(room);
        let coalesced = enqueue(
            &mut queue.jobs.lock().expect("outbox lock"),
            Job::new(content, done),
        );
        if coalesced {
            self.counts.lock().expect("outbox lock").coalesced += 1;
        }
        queue.wake.notify_one();
        async move { result.await.ok().flatten() }
    }

    pub fn counts(&self) -> Counts {
        *self.counts.lock().expect("outbox lock")
    }

    /// The room's queue, with its worker started on first use.
    fn queue(&self, room: &Room) -> Arc<RoomQueue> {
        let mut rooms = self.rooms.lock().expect("outbox lock");
        if let Some(queue) = rooms.get(room.room_id()) {
            return queue.clone();
        }
        let queue = Arc::new(RoomQueue::default());
        rooms.insert(room.room_id().to_owned(), queue.clone());
        let (outbox, room, worker_queue) = (self.clone(), room.clone(), queue.clone());
        tokio::spawn(async move {
            loop {
                let next = worker_queue.jobs.lock().expect("outbox lock").pop_front();
                let Some(job) = next else {
                    worker_queue.wake.notified().await;
                    continue;
                };
                let sent = outbox.deliver(&room, job.content).await;
                for done in job.done {
                    let _ = done.send(sent.clone());
                }
            }
        });
        queue
    }

    /// Sends one message: waits its turn in the account's pace, honours rate
    /// limits, retries failures with backoff.
    async fn deliver(&self, room: &Room, content: RoomMessageEventContent) -> Option<OwnedEventId> {
        let transaction = TransactionId::new();
        let mut backoff = crate::backoff();
        loop {
            let at = self
                .pace
                .lock()
                .expect("outbox lock")
                .reserve(Instant::now());
            tokio::time::sleep_until(at).await;
            let attempt = room
                .send(content.clone())
                .with_transaction_id(transaction.clone())
                // The outbox does the retrying, with the account's pace in view.
                .with_request_config(RequestConfig::new().retry_limit(0))
                .await;
            match attempt {
                Ok(sent) => {
                    self.counts.lock().expect("outbox lock").sent += 1;
                    return Some(sent.response.event_id);
                }
                Err(e) => {
                    if let Some(after) = retry_after(&e) {
                        self.counts.lock().expect("outbox lock").rate_limited += 1;
                        (self.noted)("rate_limited");
                        self.pace
                            .lock()
                            .expect("outbox lock")
                            .limited(Instant::now(), after);
                        tracing::info!(room = %room.room_id(), retry_after = ?after, "rate limited by the homeserver; waiting as asked");
                        continue;
                    }
                    if backoff.failures() + 1 >= ATTEMPTS {
                        self.counts.lock().expect("outbox lock").given_up += 1;
                        (self.noted)("send_given_up");
                        tracing::error!(room = %room.room_id(), error = %e, "giving up sending a message");
                        return None;
                    }
                    let wait = backoff.next_wait();
                    (self.noted)("send_retry");
                    tracing::warn!(room = %room.room_id(), error = %e, retry_in = ?wait, "sending failed; retrying");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use matrix_sdk::ruma::events::room::message::ReplacementMetadata;

    fn edit(of: &str, text: &str) -> Job {
        let original = OwnedEventId::try_from(of).unwrap();
        let content = RoomMessageEventContent::text_plain(text)
            .make_replacement(ReplacementMetadata::new(original, None));
        Job::new(content, oneshot::channel().0)
    }

    fn message(text: &str) -> Job {
        Job::new(
            RoomMessageEventContent::text_plain(text),
            oneshot::channel().0,
        )
    }

    #[test]
    fn a_newer_edit_takes_the_place_of_one_still_waiting() {
        let mut jobs = VecDeque::new();
        assert!(!enqueue(&mut jobs, message("Restarting …")));
        assert!(!enqueue(
            &mut jobs,
            edit("$a:x", "Restarting … (still running, 1s)")
        ));
        assert!(!enqueue(&mut jobs, message("Deploying …")));
        assert!(!enqueue(
            &mut jobs,
            edit("$b:x", "Deploying … (still running, 1s)")
        ));
        assert!(enqueue(
            &mut jobs,
            edit("$a:x", "Restarting … (still running, 2s)")
        ));
        assert!(enqueue(
            &mut jobs,
            edit("$a:x", "The service has been restarted.")
        ));
        let texts: Vec<String> = jobs
            .iter()
            .map(|job| match &job.content.relates_to {
                Some(Relation::Replacement(r)) => r.new_content.msgtype.body().to_string(),
                _ => job.content.body().to_string(),
            })
            .collect();
        assert_eq!(
            texts,
            [
                "Restarting …",
                "The service has been restarted.",
                "Deploying …",
                "Deploying … (still running, 1s)"
            ],
            "the edit of $a keeps its place with the newest text; other messages untouched"
        );
        assert_eq!(jobs[1].done.len(), 3, "all three senders hear the result");
    }

    #[test]
    fn a_rate_limit_spaces_later_messages_until_the_account_is_quiet() {
        let start = Instant::now();
        let mut pace = Pace {
            not_before: start,
            spacing: Duration::ZERO,
            last: start,
        };
        let s = Duration::from_secs;
        assert_eq!(
            pace.reserve(start),
            start,
            "nothing limits the first message"
        );
        assert_eq!(
            pace.reserve(start),
            start,
            "nor a burst, until the homeserver says"
        );
        pace.limited(start, s(5));
        let first = pace.reserve(start);
        assert_eq!(first, start + s(5), "waits as long as asked");
        assert_eq!(pace.reserve(start), first + s(5), "and keeps the spacing");
        pace.limited(start, s(2));
        assert_eq!(
            pace.reserve(start),
            first + s(10),
            "a refusal despite the spacing never shortens it"
        );
        assert_eq!(
            pace.reserve(start),
            first + s(17),
            "it grows by the new hint"
        );
        let later = start + s(200);
        assert_eq!(
            pace.reserve(later),
            later,
            "a quiet minute forgets the spacing"
        );
        assert_eq!(pace.reserve(later), later);
        pace.limited(later, s(600));
        assert_eq!(
            pace.reserve(later),
            later + s(600),
            "a long wait is honoured"
        );
        assert_eq!(pace.spacing, MAX_SPACING, "but the spacing is capped");
    }
}
