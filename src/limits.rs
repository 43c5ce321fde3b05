//! Process limits set at start: the open-file limit raised to what the system
//! allows (a bot holds a store, a sync token, an inbox, action pipes and the
//! alert listener's sockets at once), and the listener's connection cap kept
//! well below it, so sockets can never take the descriptors state files need.

use nix::sys::resource::{getrlimit, setrlimit, Resource};

/// Descriptors kept for everything but the alert listener's sockets.
#[cfg(feature = "doors")]
const RESERVED_DESCRIPTORS: u64 = 128;

/// Raises the soft open-file limit to the hard one; returns the limit in force.
pub fn raise_open_file_limit() -> Option<u64> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
    if soft < hard {
        match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => {
                tracing::debug!(from = soft, to = hard, "raised the open-file limit");
                return Some(hard);
            }
            Err(error) => tracing::warn!(%error, soft, hard, "could not raise the open-file limit"),
        }
    }
    Some(soft)
}

#[cfg(feature = "doors")]
/// The listener's limits from `alerts:`, its connection cap lowered to leave
/// `RESERVED_DESCRIPTORS` free under the open-file limit.
pub fn listener_limits(alerts: &opsbot_spec::AlertSettings) -> opsbot_webhook::Limits {
    let mut limits = opsbot_webhook::Limits::from_settings(alerts);
    if let Some(open_files) = raise_open_file_limit() {
        let room = open_files.saturating_sub(RESERVED_DESCRIPTORS).max(4) as usize;
        if limits.max_connections > room {
            tracing::warn!(
                configured = limits.max_connections,
                allowed = room,
                open_files,
                "alerts.max_connections lowered to fit the open-file limit"
            );
            limits.max_connections = room;
        }
    }
    limits
}
