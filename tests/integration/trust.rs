//! What makes answers trustworthy, through the binary on both test packs:
//! the near-miss report of `opsbot evaluate`, limit and time-zone mistakes
//! named at their line by `opsbot check`, and a Markdown export that names
//! who declined (backticks inside code spans: the unit tests of timeline.rs).

use crate::util::{stderr, stdout, Fixture};

const PACKS: &[(&str, &str)] = &[("dbops", "dialogs/db.yaml"), ("cicd", "dialogs/ci.yaml")];

/// The pack's near-miss requests are counted before (classifier alone) and
/// after (the request-word, question and either-or rules), and every one is
/// accounted for, in text and JSON.
#[test]
fn evaluate_reports_near_misses_before_and_after_on_two_packs() {
    for (pack, _) in PACKS {
        let fixture = Fixture::trained_pack(pack);
        let listed = std::fs::read_to_string(fixture.path().join("tests/near_misses.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        let json = fixture.path().join("evaluation.json");
        let out = fixture.run(
            &["evaluate", "--folds", "2", "--json", json.to_str().unwrap()],
            "",
        );
        assert!(out.status.success(), "{pack}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains(&format!("Near misses: {listed} requests no dialog serves")),
            "{pack}: {text}"
        );
        assert!(
            text.contains("before (the classifier and its threshold alone)"),
            "{text}"
        );
        assert!(
            text.contains("would be refused for their request word"),
            "{text}"
        );
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let report = &value["near_misses"];
        let count = |k: &str| report[k].as_u64().unwrap() as usize;
        assert_eq!(count("requests"), listed, "{pack}");
        let accounted = count("refused_request_word")
            + count("asked_if_meant")
            + count("refused_question")
            + count("asked_which")
            + count("refused_threshold")
            + report["started"].as_array().unwrap().len();
        assert_eq!(accounted, listed, "{pack}: every request has one outcome");
        // The rules refuse more than the threshold alone did.
        let refused_after = listed - report["started"].as_array().unwrap().len();
        assert!(
            refused_after > listed - count("started_before"),
            "{pack}: {report}"
        );
        // Requests the bot should understand: each right reading is started,
        // asked about or refused, and the refusals are named.
        let readings = &value["right_readings"];
        let lines = std::fs::read_to_string(fixture.path().join("tests/right_readings.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .count();
        assert!(
            text.contains(&format!("Right readings: {lines} requests")),
            "{text}"
        );
        let n = |k: &str| readings[k].as_u64().unwrap() as usize;
        let refused = readings["refused"].as_array().unwrap().len();
        assert_eq!(n("requests"), lines, "{pack}");
        assert_eq!(
            n("started") + n("asked_if_meant") + n("asked_which") + refused,
            n("read_right"),
            "{pack}: {readings}"
        );
        assert_eq!(
            n("read_right") + readings["misread"].as_array().unwrap().len(),
            lines,
            "{pack}: {readings}"
        );
    }
}

/// A limit on the wrong type, a bad direction and an unknown time zone are
/// each named at their line, with what was expected.
#[test]
fn limit_and_zone_mistakes_are_named_at_their_line_on_two_packs() {
    for (pack, file) in PACKS {
        let fixture = Fixture::pack(pack);
        let text = std::fs::read_to_string(fixture.path().join(file)).unwrap();
        let entity_line = text
            .lines()
            .position(|l| l.trim() == "- entity: pipeline" || l.trim() == "- entity: database")
            .unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let indent = " ".repeat(lines[entity_line].find('-').unwrap() + 2);
        lines.insert(entity_line + 1, format!("{indent}min: 3"));
        lines.insert(entity_line + 2, format!("{indent}direction: sideways"));
        fixture.write(file, &(lines.join("\n") + "\n"));
        let settings = std::fs::read_to_string(fixture.path().join("opsbot.yaml")).unwrap();
        let zone = settings
            .lines()
            .find(|l| l.starts_with("time_zone:"))
            .unwrap();
        fixture.write(
            "opsbot.yaml",
            &settings.replace(zone, "time_zone: Mars/Olympus"),
        );
        let out = fixture.run(&["check"], "");
        assert!(!out.status.success(), "{pack}");
        let said = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            said.contains(&format!("{file}:{}", entity_line + 2))
                && said.contains("applies to integer, number and duration slots"),
            "{pack}: {said}"
        );
        assert!(said.contains("applies to datetime slots"), "{pack}: {said}");
        assert!(
            said.contains("opsbot.yaml:") && said.contains("`Mars/Olympus` is not a time zone"),
            "{pack}: {said}"
        );
    }
}

/// The export is titled with the bot's name, shows commands as code, and a
/// declined approval says who declined and never "approved".
#[test]
fn the_markdown_export_names_who_declined_on_two_packs() {
    for (pack, requester, approver, request, bot, ran) in [
        (
            "dbops",
            "priya",
            "omar",
            "fail over pg-main",
            "dbbot",
            ("back up orders", "`actions/record.sh backup orders 6`"),
        ),
        (
            "cicd",
            "kim",
            "raj",
            "promote frontend to prod",
            "shipit",
            ("rerun backend", "`actions/record.sh rerun backend`"),
        ),
    ] {
        let fixture = Fixture::trained_pack(pack);
        let out = fixture.run(
            &["shell", "--user", requester, "--room", "ops"],
            &format!("{request}\nyes\n"),
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let asked = stdout(&out);
        let id: String = asked
            .split("“approve ")
            .nth(1)
            .unwrap_or_else(|| panic!("{pack}: {asked}"))
            .chars()
            .take(4)
            .collect();
        fixture.run(
            &["shell", "--user", approver, "--room", "ops"],
            &format!("deny {id}\n"),
        );
        fixture.run(
            &["shell", "--user", requester, "--room", "ops"],
            &format!("{}\nyes\n", ran.0),
        );
        let out = fixture.run(&["audit", "export", "--format", "markdown"], "");
        let export = stdout(&out);
        assert!(export.contains(ran.1), "{pack}: {export}");
        assert!(
            export.starts_with(&format!("# {bot} timeline")),
            "{pack}: {export}"
        );
        assert!(
            export.contains(&format!("declined by {approver}")),
            "{pack}: {export}"
        );
        assert!(
            !export.contains(&format!("approved by {approver}")),
            "{pack}: {export}"
        );
        let audit = stdout(&fixture.run(&["audit"], ""));
        assert!(
            audit.contains(&format!("said: \"{request}\"")),
            "{pack}: {audit}"
        );
    }
}
