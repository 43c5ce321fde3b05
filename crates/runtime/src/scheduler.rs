//! The worker that runs scheduled requests when they are due: it sleeps until
//! the soonest one (or until a new one is scheduled), hands the due ones to
//! their conversations through the ingress, and says what they said in their
//! rooms through the chat port as they say it.
//!
//! A due job is forgotten when it fires, so what it says must not be lost
//! when the port cannot send it at that moment (a door that has just
//! started and does not know the room yet, a homeserver away): such a
//! message is tried again each second for ten seconds, then kept as a
//! notice owed to its conversation, said when that person next writes.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Duration;

use crate::chat::Outbound;
use crate::runtime::Runtime;
use crate::store::ConversationKey;

/// How long the worker sleeps at most: a clock that jumps (a suspended
/// machine, a changed system time) is noticed within this.
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

/// A message the port could not send is tried again this often …
const RETRY_EVERY: Duration = Duration::from_secs(1);
/// … this many times in all, before it is kept as an owed notice (a door
/// retries a homeserver that is away itself, for minutes; this covers a
/// port that cannot send to the room at all yet).
const ATTEMPTS: u32 = 10;

/// Messages not sent yet, oldest first, with the attempts made.
type Unsent = VecDeque<(Outbound, u32)>;

impl Runtime {
    /// Runs scheduled requests as they fall due until `shutdown`. A door
    /// with a chat port starts it beside alert delivery.
    pub async fn run_schedule(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut unsent = Unsent::new();
        loop {
            // What a due request says must reach its room: none fires before
            // the door has attached its chat port.
            if self.chat().is_none() {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(Duration::from_millis(200)) => continue,
                }
            }
            self.send_unsent(&mut unsent).await;
            // Each message goes out as its job says it, while the next job
            // runs: none waits in memory for the whole batch.
            let (said, mut to_send) = tokio::sync::mpsc::unbounded_channel::<Outbound>();
            let fire = async move {
                let fired = self
                    .ingress()
                    .fire_due_into(&mut |message| {
                        let _ = said.send(message);
                    })
                    .await;
                // Dropping the sender ends the sending below.
                drop(said);
                fired
            };
            let send = async {
                while let Some(message) = to_send.recv().await {
                    unsent.push_back((message, 0));
                    self.send_unsent(&mut unsent).await;
                }
            };
            let (fired, ()) = tokio::join!(fire, send);
            if let Err(error) = fired {
                tracing::error!(%error, "cannot run scheduled requests");
            }
            let wait = match self.ingress().next_due() {
                Ok(Some(at)) => (at - self.now()).to_std().unwrap_or_default(),
                Ok(None) => LONGEST_SLEEP,
                Err(_) => LONGEST_SLEEP,
            }
            .min(if unsent.is_empty() {
                LONGEST_SLEEP
            } else {
                RETRY_EVERY
            })
            // Due now: look again at once, but never spin.
            .max(Duration::from_millis(50));
            tokio::select! {
                () = &mut shutdown => return,
                () = self.jobs_changed() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }

    /// Sends what is waiting, in order; stops at the first message the port
    /// refuses (later ones wait behind it, so a room's messages keep their
    /// order), and keeps one tried [`ATTEMPTS`] times as an owed notice.
    async fn send_unsent(&self, unsent: &mut Unsent) {
        while let Some((message, attempts)) = unsent.pop_front() {
            let sent = match self.chat() {
                Some(chat) => chat.send(message.clone()).await.is_some(),
                None => false,
            };
            if sent {
                continue;
            }
            let attempts = attempts + 1;
            if attempts < ATTEMPTS {
                tracing::warn!(room = %message.room, attempts, "could not say what scheduled work said; trying again");
                unsent.push_front((message, attempts));
                return;
            }
            self.owe(message).await;
        }
    }

    /// Keeps a message that could not be sent for the person it names, to
    /// be said when they next write in its room.
    async fn owe(&self, message: Outbound) {
        let Some(user) = message.mention.clone() else {
            tracing::error!(room = %message.room, "could not say what scheduled work said to the room; dropped");
            return;
        };
        tracing::warn!(room = %message.room, %user, "could not say what scheduled work said; owed until they write");
        let key = ConversationKey::new(message.room, user);
        let texts = vec![message.text];
        let owed = self
            .floor()
            .blocking(move |store| store.add_notices(&key, &texts))
            .await;
        if let Err(error) = owed {
            tracing::error!(%error, "could not keep what scheduled work said");
        }
    }
}
