//! The `opsbot` binary; everything lives in the library so tests can reach it.

fn main() -> std::process::ExitCode {
    opsbot::cli::main()
}
