//! Alerts pushed into rooms: a notification from Alertmanager is routed by
//! its labels (`alerts.routes` in `opsbot.yaml`) to rooms, merged into one
//! [`AlertGroup`] per (room, group) in the store — durably, before the sender
//! hears "accepted" — and the room is then brought up to date by one delivery
//! worker through the chat port: the group's first state is sent, every later
//! one edits that message. A homeserver that is away only delays delivery;
//! the worker retries in order.

mod event;
mod group;
mod hook;
mod incident;
mod mute;
pub mod notification;
mod text;

pub use event::{AlertEvent, AlertEventKind};
pub use group::{Acted, AlertGroup, Digest, TrackedAlert, DIGEST_PREFIX};
pub use hook::hook_notification;
pub use incident::{incidents, Incident};
pub use mute::{matches_most, parse_mute, Mute, MuteCommand, MUTE_RANGE};
pub use notification::{Alert, AlertStatus, Notification};
pub use text::{MAX_ANNOTATION_CHARS, MAX_LABEL_CHARS};

/// What accepting a notification did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlertReceipt {
    /// Rooms the notification was routed to.
    pub rooms: usize,
    /// Of those, rooms whose message must change (a redelivery changes none).
    pub changed: usize,
}
