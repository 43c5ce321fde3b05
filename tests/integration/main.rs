//! Integration tests: the real `opsbot` binary (and the library behind it) on
//! temporary copies of the example project, with real sled stores and real
//! action scripts.

mod admin;
mod alertmanager;
mod alerts;
mod alerts_bench;
mod api;
mod approvals;
mod book;
mod calibration;
mod check;
mod conversations;
mod hardening;
mod homeserver;
mod import;
mod injection;
mod listener;
mod matrix;
mod matrix_bench;
mod matrix_sync;
mod mcp;
mod nlu;
mod person;
mod prometheus;
mod restart;
mod review;
mod runbooks;
mod safety;
mod schedule_crash;
mod shell;
mod slots;
mod terminal;
mod trust;
mod util;
