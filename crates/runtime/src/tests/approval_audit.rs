//! Every audit field of a request awaiting approval, for every way it ends
//! (approved, declined, expired, withdrawn), on both packs: a decline is never
//! recorded as an approval.

use super::*;

/// (pack, requester, approver, request, its dialog)
const CASES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "dbops",
        "priya",
        "omar",
        "fail over pg-main",
        "failover_cluster",
    ),
    (
        "cicd",
        "kim",
        "raj",
        "promote frontend to prod",
        "promote_build",
    ),
];

#[derive(Debug, Clone, Copy)]
enum End {
    Approve,
    Decline,
    Expire,
    Withdraw,
}

/// The audit record that ended the request.
fn ending(
    name: &str,
    requester: &str,
    approver: &str,
    request: &str,
    end: End,
) -> (AuditRecord, usize) {
    let state = tempfile::tempdir().unwrap();
    let bot = bot(name, state.path());
    runtime().block_on(async {
        let code = &request_approval(&bot, requester, request).await;
        match end {
            End::Approve => {
                say(&bot, "room", approver, &format!("approve {code}")).await;
            }
            End::Decline => {
                say(&bot, "room", approver, &format!("deny {code}")).await;
            }
            End::Expire => {
                bot.advance_clock(Duration::from_secs(24 * 3600));
                say(&bot, "room", requester, "hello there").await;
            }
            End::Withdraw => {
                say(&bot, "room", requester, "cancel").await;
            }
        }
    });
    let records: Vec<AuditRecord> = bot
        .store()
        .audit_oldest_first()
        .map(Result::unwrap)
        .collect();
    (
        records.last().expect("an ending record").clone(),
        runs(state.path()).len(),
    )
}

#[test]
fn every_audit_field_is_right_for_every_ending_of_an_approval_on_two_packs() {
    for &(name, requester, approver, request, dialog) in CASES {
        for end in [End::Approve, End::Decline, End::Expire, End::Withdraw] {
            let (record, ran) = ending(name, requester, approver, request, end);
            let context = format!("{name} {end:?}: {record:#?}");
            assert_eq!(record.user, requester, "{context}");
            assert_eq!(record.dialog, dialog, "{context}");
            assert_eq!(record.confirmed_by.as_deref(), Some(requester), "{context}");
            assert_eq!(record.access, "allowed", "{context}");
            assert!(!record.two_factor && !record.dry_run, "{context}");
            let (outcome, approved_by, declined_by, reason, runs) = match end {
                End::Approve => (AuditOutcome::Succeeded, Some(approver), None, None, 1),
                End::Decline => (
                    AuditOutcome::Rejected,
                    None,
                    Some(approver),
                    Some(format!("declined by {approver}")),
                    0,
                ),
                End::Expire => (
                    AuditOutcome::Expired,
                    None,
                    None,
                    Some("no answer before the pending request expired".to_string()),
                    0,
                ),
                End::Withdraw => (
                    AuditOutcome::Cancelled,
                    None,
                    None,
                    Some("cancelled by the requester".to_string()),
                    0,
                ),
            };
            assert_eq!(record.outcome, outcome, "{context}");
            assert_eq!(record.approved_by.as_deref(), approved_by, "{context}");
            assert_eq!(record.declined_by.as_deref(), declined_by, "{context}");
            assert_eq!(ran, runs, "{context}");
            match reason {
                Some(reason) => {
                    assert_eq!(record.reason.as_deref(), Some(reason.as_str()), "{context}")
                }
                None => assert!(
                    record.command.is_some() && record.exit_code == Some(0),
                    "{context}"
                ),
            }
            // The JSON says the same: a decline has no approver.
            let json = serde_json::to_value(&record).unwrap();
            assert_eq!(
                json["approved_by"],
                serde_json::json!(approved_by),
                "{context}"
            );
        }
    }
}
