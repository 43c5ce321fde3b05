//! The worker that runs scheduled requests when they are due: it sleeps until
//! the soonest one (or until a new one is scheduled), hands the due ones to
//! their conversations through the ingress, and says what they said in their
//! rooms through the chat port as they say it.

use std::future::Future;
use std::time::Duration;

use crate::chat::Outbound;
use crate::runtime::Runtime;

/// How long the worker sleeps at most: a clock that jumps (a suspended
/// machine, a changed system time) is noticed within this.
const LONGEST_SLEEP: Duration = Duration::from_secs(30);

impl Runtime {
    /// Runs scheduled requests as they fall due until `shutdown`. A door
    /// with a chat port starts it beside alert delivery.
    pub async fn run_schedule(&self, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            // What a due request says must reach its room: none fires before
            // the door has attached its chat port.
            if self.chat().is_none() {
                tokio::select! {
                    () = &mut shutdown => return,
                    () = tokio::time::sleep(Duration::from_millis(200)) => continue,
                }
            }
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
                    let room = message.room.clone();
                    let Some(chat) = self.chat() else {
                        tracing::warn!(%room, "no chat port to say what scheduled work said");
                        continue;
                    };
                    if chat.send(message).await.is_none() {
                        tracing::warn!(%room, "could not say what scheduled work said");
                    }
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
            .min(LONGEST_SLEEP)
            // Due now: look again at once, but never spin.
            .max(Duration::from_millis(50));
            tokio::select! {
                () = &mut shutdown => return,
                () = self.jobs_changed() => {}
                () = tokio::time::sleep(wait) => {}
            }
        }
    }
}
