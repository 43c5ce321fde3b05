//! Routes: order, continue/stop, anchored regexes and severity order.

use super::*;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn route(name: &str, labels: Vec<(String, LabelMatch)>, continues: bool) -> AlertRoute {
    AlertRoute {
        name: name.into(),
        labels,
        min_severity: None,
        rooms: vec![format!("!{name}:localhost")],
        continue_matching: continues,
        slots: BTreeMap::new(),
        slots_at: BTreeMap::new(),
        rate_limit: None,
        mention: None,
        summary: None,
    }
}

#[test]
fn routes_match_in_order_and_stop_unless_they_continue() {
    let settings = AlertSettings {
        listen: DEFAULT_LISTEN.parse().unwrap(),
        token: Some(Secret::Env("T".into())),
        hmac_secret: None,
        max_body: DEFAULT_MAX_BODY,
        max_connections: DEFAULT_MAX_CONNECTIONS,
        read_timeout: DEFAULT_READ_TIMEOUT,
        context_window: DEFAULT_CONTEXT_WINDOW,
        quiet_hours: Vec::new(),
        hooks: Vec::new(),
        mute: MuteRules::default(),
        routes: vec![
            route(
                "all",
                vec![("env".into(), LabelMatch::Equals("prod".into()))],
                true,
            ),
            route(
                "web",
                vec![(
                    "alertname".into(),
                    LabelMatch::Regex(Regex::new("^(?:Apache.*)$").unwrap()),
                )],
                false,
            ),
            route("fallback", vec![], false),
        ],
    };
    let names = |pairs: &[(&str, &str)]| -> Vec<String> {
        settings
            .routes_for(&labels(pairs))
            .iter()
            .map(|r| r.name.clone())
            .collect()
    };
    assert_eq!(
        names(&[("env", "prod"), ("alertname", "ApacheDown")]),
        ["all", "web"]
    );
    assert_eq!(
        names(&[("env", "prod"), ("alertname", "DiskFull")]),
        ["all", "fallback"]
    );
    assert_eq!(names(&[("alertname", "ApacheDown")]), ["web"]);
    assert_eq!(
        names(&[("alertname", "xApacheDown")]),
        ["fallback"],
        "regexes are anchored"
    );
}

#[test]
fn severity_is_ordered() {
    let mut serious = route("serious", vec![], false);
    serious.min_severity = severity_rank("warning");
    assert!(serious.matches(&labels(&[("severity", "critical")])));
    assert!(serious.matches(&labels(&[("severity", "WARNING")])));
    assert!(!serious.matches(&labels(&[("severity", "info")])));
    assert!(!serious.matches(&labels(&[("severity", "page-me")])));
    assert!(!serious.matches(&labels(&[])));
}

fn pack(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/packs")
        .join(name)
}

#[test]
fn mute_rules_name_who_may_mute_and_which_broad_targets_are_allowed() {
    let db = crate::load_project(&pack("dbops")).expect("the pack loads");
    let settings = &db.settings;
    let rules = &settings.alerts.as_ref().unwrap().mute;
    let room = "!dba:db.example";
    assert!(rules
        .check(&settings.groups, "@priya:db.example", room)
        .is_ok());
    assert!(rules.check(&settings.groups, "priya", room).is_ok());
    let refused = rules
        .check(&settings.groups, "@mallory:db.example", room)
        .unwrap_err();
    assert!(refused.contains("dba"), "{refused}");
    assert!(!rules.allows_broad("critical"));

    let ci = crate::load_project(&pack("cicd")).expect("the pack loads");
    let rules = &ci.settings.alerts.as_ref().unwrap().mute;
    assert!(rules.allows_broad("INFO") && !rules.allows_broad("warning"));

    // Not declared: nobody.
    let nobody = MuteRules::default();
    assert!(nobody
        .check(&settings.groups, "@priya:db.example", room)
        .unwrap_err()
        .contains("alerts.mute.allow"));
    for broad in ["critical", "Warning", "all", "*"] {
        assert!(is_broad_target(broad), "{broad}");
    }
    for narrow in ["web-01", "ApacheDown", "pg-1"] {
        assert!(!is_broad_target(narrow), "{narrow}");
    }
}

#[test]
fn a_mute_rule_naming_an_unknown_group_is_reported_where_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(pack("dbops"))
        .arg(dir.path().join("dbops"))
        .status();
    assert!(copied.unwrap().success(), "cp");
    let yaml = dir.path().join("dbops/opsbot.yaml");
    let text = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(
        &yaml,
        text.replace("allow: [group:dba]", "allow: [group:dbas]"),
    )
    .unwrap();
    let error = crate::load_project(&dir.path().join("dbops"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("opsbot.yaml:") && error.contains("unknown group `dbas`"),
        "{error}"
    );
}
