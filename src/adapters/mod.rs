//! Doors carry conversations between people and the runtime's ingress
//! ([`opsbot_runtime::Ingress`]); they translate at the edge and the core never
//! sees their types.

pub mod shell;
