//! The admin socket's private protocol: one JSON request line (the command
//! and its arguments), answered by JSON lines — the command's output as it
//! comes, then its exit status. Tiny on purpose: both ends are this binary.

use serde::{Deserialize, Serialize};

use crate::cli::{AlertsArgs, AuditArgs, ExportArgs, TwoFactorCommand};

/// The longest request line read (the commands' arguments are short; a
/// longer line is refused, not buffered).
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// A command the running bot runs for the command line, against its store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// `opsbot audit`
    Audit(AuditArgs),
    /// `opsbot audit verify`
    AuditVerify {},
    /// `opsbot audit export`
    AuditExport(ExportArgs),
    /// `opsbot alerts`
    Alerts(AlertsArgs),
    /// `opsbot 2fa enroll|remove`
    TwoFactor { action: TwoFactorCommand },
    /// `opsbot schedule list`
    ScheduleList {},
    /// `opsbot schedule cancel ID`: `by` is the operator named in the audit
    /// record ("cli:alice", or `--as`).
    ScheduleCancel { id: String, by: String },
}

impl Request {
    /// The command's name, for the log (never its arguments).
    pub fn name(&self) -> &'static str {
        match self {
            Request::Audit(_) => "audit",
            Request::AuditVerify {} => "audit verify",
            Request::AuditExport(_) => "audit export",
            Request::Alerts(_) => "alerts",
            Request::TwoFactor { .. } => "2fa",
            Request::ScheduleList {} => "schedule list",
            Request::ScheduleCancel { .. } => "schedule cancel",
        }
    }

    /// The request as one line, newline included.
    pub fn line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a request serializes");
        line.push('\n');
        line
    }
}

/// Why a request line was refused; the answer says so and the connection
/// closes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtocolError {
    #[error("the request is longer than {MAX_REQUEST_BYTES} bytes")]
    TooLong,
    #[error("the request is not UTF-8 text")]
    NotText,
    #[error("no request was sent")]
    Empty,
    #[error("not a request this bot understands: {0}")]
    Malformed(String),
}

/// Reads one request from the bytes of its line (with or without the
/// newline; `bytes` holds at most one byte beyond the limit).
pub fn parse_request(bytes: &[u8]) -> Result<Request, ProtocolError> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.len() > MAX_REQUEST_BYTES {
        return Err(ProtocolError::TooLong);
    }
    let text = std::str::from_utf8(bytes).map_err(|_| ProtocolError::NotText)?;
    if text.trim().is_empty() {
        return Err(ProtocolError::Empty);
    }
    serde_json::from_str(text).map_err(|e| ProtocolError::Malformed(e.to_string()))
}

/// One line of the answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Frame {
    /// Output, as the command printed it (stdout).
    Out(String),
    /// The last line: the exit status, and the error the command ended with
    /// (printed on stderr as `error: …`).
    Exit { code: u8, error: Option<String> },
}

impl Frame {
    pub fn line(&self) -> String {
        let mut line = serde_json::to_string(self).expect("a frame serializes");
        line.push('\n');
        line
    }

    pub fn parse(line: &str) -> Result<Frame, ProtocolError> {
        serde_json::from_str(line.trim_end()).map_err(|e| ProtocolError::Malformed(e.to_string()))
    }

    /// The answer to a request that could not be run.
    pub fn refusal(why: impl std::fmt::Display) -> Frame {
        Frame::Exit {
            code: 1,
            error: Some(why.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::ExportFormat;

    fn round_trip(request: Request) {
        let line = request.line();
        assert!(line.ends_with('\n') && !line[..line.len() - 1].contains('\n'));
        assert_eq!(parse_request(line.as_bytes()), Ok(request));
    }

    #[test]
    fn every_request_round_trips_as_one_line() {
        round_trip(Request::Audit(AuditArgs {
            command: None,
            user: Some("alice\nbob".into()),
            intent: None,
            grep: Some("\"quoted\"".into()),
            limit: 5,
            json: true,
        }));
        round_trip(Request::AuditVerify {});
        round_trip(Request::AuditExport(ExportArgs {
            format: ExportFormat::Jsonl,
            since: Some("24h".into()),
            room: None,
        }));
        round_trip(Request::Alerts(AlertsArgs {
            all: true,
            room: Some("ops".into()),
        }));
        round_trip(Request::TwoFactor {
            action: TwoFactorCommand::Enroll {
                user: "alice".into(),
                force: false,
            },
        });
        round_trip(Request::TwoFactor {
            action: TwoFactorCommand::Remove {
                user: "alice".into(),
            },
        });
        round_trip(Request::ScheduleList {});
        round_trip(Request::ScheduleCancel {
            id: "7f3a".into(),
            by: "cli:alice".into(),
        });
    }

    #[test]
    fn garbage_is_refused_with_a_reason() {
        assert_eq!(parse_request(b"\n"), Err(ProtocolError::Empty));
        assert_eq!(parse_request(b"\xff\xfe\n"), Err(ProtocolError::NotText));
        for line in [
            &b"hello\n"[..],
            br#"{"command":"shell"}"#,
            br#"{"command":"train","force":true}"#,
            br#"{"command":"audit_verify","extra":1}"#,
            br#"{"command":"schedule_cancel","id":"7f3a"}"#,
            br#"["audit"]"#,
        ] {
            assert!(
                matches!(parse_request(line), Err(ProtocolError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn a_line_over_the_limit_is_refused_before_it_is_read_as_json() {
        let mut long = br#"{"command":"audit_verify"}"#.to_vec();
        long.resize(MAX_REQUEST_BYTES + 1, b' ');
        assert_eq!(parse_request(&long), Err(ProtocolError::TooLong));
        long.truncate(MAX_REQUEST_BYTES);
        assert_eq!(parse_request(&long), Ok(Request::AuditVerify {}));
    }

    #[test]
    fn frames_round_trip_and_a_refusal_exits_1() {
        for frame in [
            Frame::Out("line one\nline two\n".into()),
            Frame::Exit {
                code: 0,
                error: None,
            },
            Frame::refusal("no"),
        ] {
            assert_eq!(Frame::parse(&frame.line()), Ok(frame));
        }
        assert_eq!(
            Frame::refusal("no"),
            Frame::Exit {
                code: 1,
                error: Some("no".into())
            }
        );
        assert!(Frame::parse("{\"out\":1}").is_err());
    }
}
