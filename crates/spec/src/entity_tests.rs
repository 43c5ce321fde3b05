//! Finding, normalising and validating values of listed and pattern entities.

use super::*;

fn now() -> DateTime<Utc> {
    DateTime::UNIX_EPOCH
}

fn service() -> Entity {
    let values = BTreeMap::from([
        ("apache".to_string(), vec!["httpd".to_string()]),
        ("nginx".to_string(), vec![]),
    ]);
    Entity::new("service", Some("a service".into()), None, None, &values)
}

fn host() -> Entity {
    let pattern = Regex::new(r"[a-z][a-z0-9]*-\d+|\d{1,3}(?:\.\d{1,3}){3}").unwrap();
    Entity::new(
        "host",
        Some("a host name like web-01 or an IP address".into()),
        Some(pattern),
        None,
        &BTreeMap::new(),
    )
}

#[test]
fn synonyms_normalise_to_canonical() {
    let s = service();
    let found = s.find_all("please bounce HTTPD now");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].value, "apache");
    assert_eq!(found[0].surface, "HTTPD");
    assert_eq!(s.validate("Httpd", now()), Ok("apache".to_string()));
    assert!(s
        .validate("tomcat", now())
        .unwrap_err()
        .contains("apache or nginx"));
}

#[test]
fn lexicon_respects_word_boundaries() {
    assert!(service().find_all("nginxy").is_empty());
    assert_eq!(service().find_all("nginx, apache").len(), 2);
    // One token holding two values is neither ("a value is a whole token").
    let joined = service().find_in("restart nginx,apache");
    assert!(joined.matches.is_empty(), "{joined:?}");
    assert_eq!(joined.partial, [(8, 20)]);
}

/// Parts of a token are never values: the token is named instead (its byte
/// range in `partial`), so the engine can say it was not understood.
#[test]
fn a_value_is_never_part_of_a_token() {
    let version = Entity::new(
        "version",
        Some("a version".into()),
        Some(Regex::new(r"v?[0-9]+(?:\.[0-9]+){1,2}").unwrap()),
        None,
        &BTreeMap::new(),
    );
    for (entity, text, token) in [
        (host(), "restart d\u{200B}b-01 now", "d\u{200B}b-01"),
        (host(), "restart web-01\0 now", "web-01\0"),
        (host(), "restart web-01\u{200D}", "web-01\u{200D}"),
        (host(), "restart web-01&touch /tmp/x", "web-01&touch"),
        (version.clone(), "deploy shop 1,000.00", "1,000.00"),
        (service(), "restart \u{2060}apache", "\u{2060}apache"),
    ] {
        let found = entity.find_in(text);
        assert!(found.matches.is_empty(), "{text:?}: {found:?}");
        let start = text.find(token).unwrap();
        assert_eq!(found.partial, [(start, start + token.len())], "{text:?}");
    }
    let found = version.find_in("deploy shop (1.0.2), now");
    assert_eq!(found.matches[0].value, "1.0.2");
    assert!(found.partial.is_empty());
}

/// A listed value is held to the '-' rule like any other, and so is a typed
/// value's field: `{when.unix}` of a time before 1970 is negative.
#[test]
fn no_value_or_field_starting_with_a_dash_validates() {
    let values = BTreeMap::from([
        ("--force".to_string(), vec![]),
        ("apache".to_string(), vec!["-a".to_string()]),
    ]);
    let listed = Entity::new("service", Some("a service".into()), None, None, &values);
    for said in ["--force", "-a", " --FORCE"] {
        let refused = listed.validate(said, now()).unwrap_err();
        assert!(refused.contains("starts with '-'"), "{said}: {refused}");
    }
    assert_eq!(listed.validate("apache", now()), Ok("apache".into()));
    let when = Entity::builtin(ValueType::DateTime);
    let refused = when.validate("1969-07-20", now()).unwrap_err();
    assert!(
        refused.contains("Unix time -") && refused.contains("starts with '-'"),
        "{refused}"
    );
    assert!(when.validate("1970-01-02", now()).is_ok());
}

#[test]
fn pattern_validation_is_anchored() {
    let h = host();
    assert_eq!(h.validate("192.168.0.24", now()), Ok("192.168.0.24".into()));
    assert!(h
        .validate("banana", now())
        .unwrap_err()
        .contains("not a host name"));
    assert!(h.validate("web-01; touch /tmp/x", now()).is_err());
    assert!(
        h.validate("web-01\n", now()).is_ok(),
        "surrounding whitespace is trimmed"
    );
    assert!(h.validate("web-01\nrm", now()).is_err());
    let anything = Entity::new(
        "text",
        Some("some text".into()),
        Some(Regex::new(".+").unwrap()),
        None,
        &BTreeMap::new(),
    );
    assert!(
        anything
            .validate("--force", now())
            .unwrap_err()
            .contains("starts with '-'"),
        "no option injection"
    );
    assert_eq!(h.find_all("restart it on web-02 now")[0].value, "web-02");
    assert!(
        h.find_all("web-01; touch /tmp/x").is_empty(),
        "a value touching a shell metacharacter is not extracted"
    );
    assert!(h.find_all("$(web-01)").is_empty());
}

#[test]
fn a_value_is_never_found_inside_a_joined_word() {
    // Issue 25: "prod-eu" is not production, "2.5" is neither 2 nor 5.
    let env = Entity::new(
        "environment",
        Some("an environment".into()),
        None,
        None,
        &BTreeMap::from([("production".to_string(), vec!["prod".to_string()])]),
    );
    assert!(env.find_all("deploy shop 2.1 to prod-eu").is_empty());
    assert!(env.find_all("deploy to eu.prod now").is_empty());
    assert_eq!(env.find_all("deploy to prod.").len(), 1);
    assert_eq!(env.find_all("deploy to prod - now").len(), 1);
    let integer = Entity::builtin(ValueType::Integer);
    let values = |text: &str| -> Vec<String> {
        integer
            .find_all(text)
            .into_iter()
            .map(|m| m.surface)
            .collect()
    };
    assert!(values("scale to 2.5 replicas").is_empty());
    assert_eq!(values("scale it to -2 replicas"), ["-2"]);
    assert_eq!(values("scale web-2 to 3"), ["3"]);
    assert!(values("back up at 21:00").is_empty());
    // A listed or patterned number does not drop a sign either.
    let days = Entity::new(
        "days",
        None,
        Some(Regex::new("[1-9][0-9]?").unwrap()),
        None,
        &BTreeMap::new(),
    );
    assert!(days.find_all("extend it by -2 days").is_empty());
    assert!(days.find_all("extend it by 2.5 days").is_empty());
    assert_eq!(days.find_all("extend it by 12 days").len(), 1);
}

#[test]
fn values_a_description_lists_are_said_once() {
    let listed = Entity::new(
        "service",
        Some("a service (apache or nginx)".into()),
        None,
        None,
        &BTreeMap::from([
            ("apache".to_string(), vec![]),
            ("nginx".to_string(), vec![]),
        ]),
    );
    assert_eq!(
        listed.validate("web", now()).unwrap_err(),
        "“web” is not a service (apache or nginx)"
    );
    // A description that does not list them is followed by the list.
    assert_eq!(
        service().validate("web", now()).unwrap_err(),
        "“web” is not a service; I know apache or nginx"
    );
}

/// A negative number is refused for what it is: negative (a program could
/// read it as an option), not "not a whole number".
#[test]
fn a_negative_number_is_refused_as_negative() {
    let integer = Entity::builtin(ValueType::Integer);
    let refused = integer.validate("-300", now()).unwrap_err();
    assert!(refused.contains("is negative"), "{refused}");
    let listed = service().validate("--force", now()).unwrap_err();
    assert!(listed.contains("starts with '-'"), "{listed}");
}

/// A value learned from an annotation of a case-sensitive pattern ("A" for a
/// record type) is not found in another case: the article "a" is no A record,
/// while a case-insensitive part of the pattern still matches any case.
#[test]
fn a_learned_value_keeps_its_patterns_case() {
    let pattern = Regex::new(r"A|AAAA|(?i:cname|mx)").unwrap();
    let mut record = Entity::new(
        "record_type",
        Some("a DNS record type".into()),
        Some(pattern),
        None,
        &BTreeMap::new(),
    );
    record.learn("A", "A");
    record.learn("CNAME", "CNAME");
    let values = |text: &str| -> Vec<String> {
        record.find_all(text).into_iter().map(|m| m.value).collect()
    };
    assert!(values("add a record for beta.example.com").is_empty());
    assert_eq!(values("add an A record"), ["A"]);
    assert_eq!(values("add a cname record"), ["CNAME"]);
}

/// A near word is read as a slip of a listed one, never as another thing
/// with a similar name.
#[test]
fn fuzzy_matches_slips_but_not_other_names() {
    let values = BTreeMap::from([
        ("orders-load".to_string(), vec![]),
        ("web-01".to_string(), vec![]),
        ("postgres".to_string(), vec![]),
        ("billing".to_string(), vec![]),
    ]);
    let jobs = Entity::new("job", Some("a job".into()), None, None, &values);
    // Slips: a swap, a changed letter, a doubled or dropped last letter.
    assert_eq!(
        jobs.fuzzy_lookup("orders-laod").map(|m| m.0),
        Some("orders-load")
    );
    assert_eq!(jobs.fuzzy_lookup("bilking").map(|m| m.0), Some("billing"));
    assert_eq!(
        jobs.fuzzy_lookup("postgress").map(|m| m.0),
        Some("postgres")
    );
    assert_eq!(jobs.fuzzy_lookup("postgre").map(|m| m.0), Some("postgres"));
    // Other names: a suffix, other numbers.
    assert_eq!(jobs.fuzzy_lookup("orders-loader"), None);
    assert_eq!(jobs.fuzzy_lookup("orders-lo"), None);
    assert_eq!(jobs.fuzzy_lookup("web-02"), None);
    assert_eq!(jobs.fuzzy_lookup("web-011"), None);
    assert_eq!(jobs.fuzzy_lookup("billing2"), None);
}
