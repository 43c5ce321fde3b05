//! The MCP tool server with a real MCP client (the Python `mcp` SDK) and a
//! real `opsbot run` with a real Synapse: over streamable HTTP (`/mcp` on
//! the API's listener) and over stdio (`opsbot mcp`, through the API), the
//! client lists each dialog as a tool with a schema from its slots, a call
//! proposes the request with exactly the values given, the proposal waits
//! for the person's yes in the room, `request_status` follows it, and the
//! audit names the client as proposer beside the person who confirmed.

use std::process::Command;

use crate::alerts::wait_for;
use crate::api::{json, setup, Setup, CHANGES, READS};
use crate::homeserver::*;
use crate::util::{http, repo};

/// The MCP client: `tests/integration/mcp_client.py` in the virtualenv
/// `make test` gives the `mcp` package.
fn client(args: &[&str]) -> serde_json::Value {
    let python = repo().join(".venv-mcp/bin/python");
    assert!(
        python.exists(),
        "no MCP client at {}; `make test` installs it",
        python.display()
    );
    let out = Command::new(python)
        .arg(repo().join("tests/integration/mcp_client.py"))
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the MCP client failed: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    json(&stdout)
}

fn tool<'a>(listed: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    listed["tools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
}

fn text(result: &serde_json::Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[test]
fn mcp_clients_propose_and_a_person_confirms_in_the_room() {
    let Setup {
        synapse,
        fixture,
        port,
        runtime,
        mut priya,
        room,
        _bot,
    } = setup(30);
    let url = format!("http://127.0.0.1:{port}/mcp");
    let runs = || {
        std::fs::read_to_string(fixture.state().join("runs.tsv"))
            .unwrap_or_default()
            .lines()
            .count()
    };
    let log = synapse.log_file();
    run_scenario(&fixture, &log, async {
        priya.wait_members(&room, 2).await;
        assert!(!priya.ask(&room, "hello").await.is_empty());

        // Over HTTP: the tools and their schemas, a value refused as given
        // (never replaced by a near one), then a proposal.
        let calls = r#"[["backup_database", {"database": "ordrs"}],
                        ["backup_database", {"database": "orders", "level": 9}]]"#;
        let listed = client(&["http", &url, CHANGES, calls]);
        assert_eq!(listed["server"], "opsbot");
        let backup = tool(&listed, "backup_database").expect("a tool per dialog");
        let schema = &backup["inputSchema"];
        assert_eq!(
            schema["required"],
            serde_json::json!(["database"]),
            "{schema}"
        );
        assert_eq!(schema["properties"]["level"]["type"], "integer", "{schema}");
        assert!(schema["properties"]["database"]["enum"]
            .as_array()
            .is_some_and(|values| values.iter().any(|v| v == "orders")));
        assert!(tool(&listed, "request_status").is_some());
        let [typo, proposed] = listed["results"].as_array().unwrap().as_slice() else {
            panic!("two results: {listed}");
        };
        assert_eq!(typo["isError"], true, "{typo}");
        assert!(text(typo).contains("ordrs"), "{typo}");
        assert_eq!(proposed["isError"], false, "{proposed}");
        let id = proposed["structuredContent"]["id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(text(proposed).contains("request_status"), "{proposed}");
        let posted = priya.replies(&room, 2).await;
        assert_eq!(
            posted[0].body,
            "ci-changes via MCP client opsbot-test proposes for @priya:localhost: “backup_database database=orders level=9”"
        );
        assert!(
            posted[1].body.contains("Shall I go ahead?"),
            "{}",
            posted[1].body
        );
        assert_eq!(runs(), 0, "nothing runs on a tool call");

        priya.say(&room, "yes").await;
        wait_for("the backup", || runs() == 1);
        let status = format!(r#"[["request_status", {{"id": "{id}"}}]]"#);
        let ended = std::cell::RefCell::new(serde_json::Value::Null);
        wait_for("the request to end", || {
            *ended.borrow_mut() = client(&["http", &url, CHANGES, &status])["results"][0].clone();
            ended.borrow()["structuredContent"]["state"] == "ended"
        });
        let ended = ended.into_inner();
        let outcome = &ended["structuredContent"];
        assert_eq!(outcome["outcome"], "succeeded", "{ended}");
        assert_eq!(outcome["confirmed_by"], "@priya:localhost", "{ended}");

        // The audit has who proposed (the token and the client) and who
        // confirmed, read while the bot runs.
        let export = fixture
            .command(&["audit", "export", "--format", "jsonl"])
            .output()
            .unwrap();
        let export = String::from_utf8_lossy(&export.stdout);
        let record = export
            .lines()
            .map(json)
            .find(|r| r["request_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} in {export}"));
        assert_eq!(
            record["proposed_by"], "ci-changes via MCP client opsbot-test",
            "{record}"
        );
        assert_eq!(record["confirmed_by"], "@priya:localhost", "{record}");

        // What the bot said after the yes is read before the room is watched.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        while !priya.no_reply_since(&room) {
            priya.reply(&room).await;
        }

        // Over stdio (`opsbot mcp`, through the API) with a read-only token:
        // only what it may ask is a tool, and a read-only one answers.
        let bin = env!("CARGO_BIN_EXE_opsbot");
        let api = format!("http://127.0.0.1:{port}");
        let calls = r#"[["replication_lag", {"cluster": "pg-main"}],
                        ["backup_database", {"database": "orders"}]]"#;
        let listed = client(&["stdio", READS, calls, "--", bin, "mcp", "--url", &api]);
        assert!(tool(&listed, "replication_lag").is_some(), "{listed}");
        assert!(tool(&listed, "backup_database").is_none(), "{listed}");
        let [answered, refused] = listed["results"].as_array().unwrap().as_slice() else {
            panic!("two results: {listed}");
        };
        assert_eq!(answered["isError"], false, "{answered}");
        assert!(text(answered).contains("pg-main"), "{answered}");
        assert_eq!(refused["isError"], true, "{refused}");
        assert!(text(refused).contains("forbidden"), "{refused}");
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        assert!(
            priya.no_reply_since(&room),
            "nothing was posted for an answer or a refusal"
        );
        let ran = std::fs::read_to_string(fixture.state().join("runs.tsv")).unwrap();
        assert_eq!(
            ran.lines().filter(|l| l.contains("backup")).count(),
            1,
            "only the confirmed backup ran: {ran}"
        );

        // Without the token, /mcp is not reached.
        let (status, _) = http(
            port,
            "POST",
            "/mcp",
            &[("Content-Type", "application/json")],
            b"{}",
        );
        assert_eq!(status, 401);
    });
    let _inside = runtime.enter();
    drop((room, priya));
}
