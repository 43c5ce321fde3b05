//! opsbot: a natural-language ChatOps bot. This crate is the last stage of the
//! pipeline (spec → nlu → dialog → runtime → adapters → binary): the adapters,
//! conversation tests and the command line.

pub mod adapters;
pub mod admin;
pub mod app;
pub mod cli;
pub mod confusion;
pub mod limits;
pub mod refresh;
pub mod review;
pub mod train_guard;
pub mod transcript;
