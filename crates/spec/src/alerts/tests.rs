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
