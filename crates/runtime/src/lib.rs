//! The runtime around the pure dialog engine: services with their own
//! fields (conversations, actions, the alert desk, review, the model) on a
//! floor of ports (store, clock, chat), reached by every door through one
//! [`Ingress`]. See [`runtime`] for the map.

pub mod actions;
pub mod alert_desk;
pub mod alerts;
pub mod audit;
mod calendar;
pub mod chat;
pub mod checkpoints;
pub mod clock;
pub mod command;
pub mod conversations;
pub mod envelope;
pub mod exec;
mod floor;
pub mod inbox;
pub mod ingress;
pub mod key;
pub mod lookup;
pub mod metrics;
pub mod model;
pub mod private;
pub mod proposal;
pub mod reply;
pub mod retry;
pub mod review;
pub mod runtime;
mod scheduler;
pub mod seal;
pub mod store;
#[cfg(test)]
mod tests;
pub mod totp;

use std::path::PathBuf;

pub use alert_desk::AlertDesk;
pub use audit::{verify, AuditOutcome, AuditRecord, ChainHead, Verification};
pub use chat::{Chat, MessageHandle, Outbound};
pub use clock::{Clock, ManualClock, SystemClock};
pub use envelope::Envelope;
pub use inbox::{Decision, Inbox, InboxEntry};
pub use ingress::{Ingress, OrderedQueues, OwnedSink, Receipt};
pub use model::{Loaded, Model, Reloader};
pub use reply::{Reply, ReplyId, ReplySink};
pub use runtime::{IsAdmin, Runtime, RuntimeBuilder};
pub use seal::AuditKey;
pub use store::Restoration;
pub use store::{ConversationKey, JournalStatus, KeyPolicy, MemoryStore, SledStore, Store};
pub use totp::TotpRecord;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("cannot create or read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the store at {} is in use by another opsbot process; stop it first (only one process may open a store)", path.display())]
    StoreLocked { path: PathBuf },
    /// A backend's own error, boxed: the runtime does not speak any one
    /// store's language.
    #[error("store error at {}: {source}", path.display())]
    Store {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot read the stored {what}: {reason}")]
    CorruptState { what: String, reason: String },
    /// A state folder or file other users could tamper with.
    #[error("refusing {}: {why}", path.display())]
    Unsafe { path: PathBuf, why: String },
    /// The audit key is not the one the trail was sealed with.
    #[error("the audit key is not the key the audit trail in {} was sealed with: it was replaced, or deleted and made anew (audit.key beside the store, or OPSBOT_AUDIT_KEY / OPSBOT_AUDIT_KEY_FILE). Restore the original key from its backup; to go on under this key on purpose, start once with --new-audit-key (earlier records are kept, and `audit verify` says from which record the new key seals)", store.display())]
    AuditKeyChanged { store: PathBuf },
    /// A task of the runtime itself failed (a panic on a blocking thread).
    #[error("internal error: {0}")]
    Internal(String),
    /// Asked of the runtime and refused, with the reason ("the post `x`
    /// comes from `schedules:` in the YAML").
    #[error("{0}")]
    Refused(String),
    /// A runbook's lock is held by another conversation's run.
    #[error("the lock `{key}` is held by {holder}'s run")]
    Locked { key: String, holder: String },
}
