//! One ordered worker per conversation: work pushed for a (room, user) runs
//! strictly in the order it was pushed, work of different conversations runs
//! concurrently, and a worker idle for a while is reaped. Pushing never
//! blocks, so an adapter can push from its event handler in arrival order
//! before anything it awaits could reorder two messages of one person.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::key::ConversationKey;

/// A unit of work for one conversation.
pub type Job = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// How long a worker waits for more work before it is reaped.
const IDLE: Duration = Duration::from_secs(60);

/// Per-conversation ordered workers.
#[derive(Clone, Default)]
pub struct OrderedQueues {
    workers: Arc<Mutex<HashMap<ConversationKey, mpsc::UnboundedSender<Job>>>>,
}

impl OrderedQueues {
    pub fn new() -> OrderedQueues {
        OrderedQueues::default()
    }

    /// Queues `job` behind the earlier work of `key`; never waits. Must be
    /// called from within a tokio runtime (a worker may be spawned).
    pub fn push(&self, key: ConversationKey, job: impl Future<Output = ()> + Send + 'static) {
        let mut workers = self.workers.lock().expect("worker map lock");
        let job: Job = Box::pin(job);
        let job = match workers.get(&key) {
            Some(sender) => match sender.send(job) {
                Ok(()) => return,
                // The worker ended (it was reaped after its last check): start anew.
                Err(mpsc::error::SendError(job)) => job,
            },
            None => job,
        };
        let (sender, receiver) = mpsc::unbounded_channel();
        sender.send(job).expect("the receiver is alive");
        workers.insert(key.clone(), sender);
        tokio::spawn(work(self.workers.clone(), key, receiver));
    }

    /// Conversations with a live worker (for tests and metrics).
    pub fn live(&self) -> usize {
        self.workers.lock().expect("worker map lock").len()
    }
}

async fn work(
    workers: Arc<Mutex<HashMap<ConversationKey, mpsc::UnboundedSender<Job>>>>,
    key: ConversationKey,
    mut jobs: mpsc::UnboundedReceiver<Job>,
) {
    loop {
        match tokio::time::timeout(IDLE, jobs.recv()).await {
            Ok(Some(job)) => job.await,
            Ok(None) => return,
            Err(_idle) => {
                // Under the map's lock no push can slip in between the check
                // and the removal.
                let mut map = workers.lock().expect("worker map lock");
                if jobs.is_empty() {
                    map.remove(&key);
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Many conversations pushed from many tasks at once, each job sleeping a
    /// random while: every conversation's jobs still run in push order, and
    /// conversations overlap.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_conversation_keeps_its_order_under_concurrency() {
        let queues = OrderedQueues::new();
        let seen: Arc<Mutex<HashMap<String, Vec<usize>>>> = Arc::default();
        let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let overlap = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        for user in 0..20 {
            let key = ConversationKey::new("room", format!("user-{user}"));
            for n in 0..25usize {
                let (seen, running, overlap, done) = (
                    seen.clone(),
                    running.clone(),
                    overlap.clone(),
                    done_tx.clone(),
                );
                let pause = Duration::from_micros(((user * 7 + n * 13) % 11) as u64 * 100);
                queues.push(key.clone(), async move {
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    overlap.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(pause).await;
                    seen.lock()
                        .unwrap()
                        .entry(format!("user-{user}"))
                        .or_default()
                        .push(n);
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = done.send(());
                });
            }
        }
        for _ in 0..20 * 25 {
            done_rx.recv().await.unwrap();
        }
        let seen = seen.lock().unwrap();
        for user in 0..20 {
            assert_eq!(seen[&format!("user-{user}")], (0..25).collect::<Vec<_>>());
        }
        assert!(
            overlap.load(std::sync::atomic::Ordering::SeqCst) > 1,
            "ran concurrently"
        );
        assert_eq!(queues.live(), 20);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_workers_are_reaped_and_restart_on_demand() {
        let queues = OrderedQueues::new();
        let key = ConversationKey::new("room", "alice");
        let (tx, mut rx) = mpsc::unbounded_channel();
        let first = tx.clone();
        queues.push(key.clone(), async move { first.send(1).unwrap() });
        assert_eq!(rx.recv().await, Some(1));
        tokio::time::sleep(IDLE * 2).await;
        assert_eq!(queues.live(), 0, "reaped");
        queues.push(key, async move { tx.send(2).unwrap() });
        assert_eq!(rx.recv().await, Some(2));
    }
}
