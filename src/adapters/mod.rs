//! Adapters carry conversations between people and the [`opsbot_runtime::Bot`];
//! they translate at the edge and the core never sees their types.

pub mod shell;
