//! Slot filling on the trained example bot: values never seen in training,
//! in phrasings generated from templates, are found with the right entity and
//! canonical value; and `opsbot train` writes the slot tagger beside the model.

use crate::util::{stdout, Fixture};

/// (template, slots it names): `{host}`, `{service}`, `{app}`, `{version}`, `{env}`.
const TEMPLATES: &[&str] = &[
    "restart {service} on {host}",
    "could you bounce {service} over on {host} please",
    "{service} on {host} has to be restarted",
    "kick {service} on {host}, it is stuck",
    "please restart the {service} service running on {host}",
    "deploy {app} {version} to {env}",
    "ship {version} of {app} to {env}",
    "roll out {app} version {version} in {env}",
    "can you push {app} {version} to {env} now",
    "silence alerts for {host} for 3 hours",
    "mute {host} for twenty minutes",
];

/// Values that appear in no example of intents/.
const HOSTS: &[&str] = &[
    "zeta-42",
    "mail-07.corp.example.net",
    "172.16.4.20",
    "kafka-broker-3",
    "edge-19",
];
const SERVICES: &[(&str, &str)] = &[
    ("memcache", "memcached"),
    ("tomcat", "tomcat"),
    ("mariadb", "mysql"),
    ("pg", "postgres"),
    ("engine-x", "nginx"),
];
const APPS: &[(&str, &str)] = &[
    ("invoicing", "billing"),
    ("webshop", "shop"),
    ("search-service", "search"),
    ("public api", "api"),
];
const VERSIONS: &[&str] = &["v3.11.0-beta2", "10.2", "0.9.17", "v7.0.1"];
const ENVS: &[(&str, &str)] = &[
    ("preprod", "staging"),
    ("live", "production"),
    ("testing", "qa"),
];

#[test]
fn values_never_seen_in_training_are_extracted_from_new_phrasings() {
    let fixture = Fixture::trained();
    assert!(fixture.path().join("models/slot-tagger.bin").exists());
    let project = opsbot_spec::load_project(fixture.path()).unwrap();
    let nlu = fixture.nlu(&project);
    assert!(nlu.tagger().is_some(), "the bot loads the tagger");

    let (mut expected, mut found) = (0usize, 0usize);
    let mut misses = Vec::new();
    for (i, template) in TEMPLATES.iter().enumerate() {
        for round in 0..4 {
            let k = i + round;
            let host = HOSTS[k % HOSTS.len()];
            let (service, service_value) = SERVICES[k % SERVICES.len()];
            let (app, app_value) = APPS[k % APPS.len()];
            let version = VERSIONS[k % VERSIONS.len()];
            let (env, env_value) = ENVS[k % ENVS.len()];
            let text = template
                .replace("{host}", host)
                .replace("{service}", service)
                .replace("{app}", app)
                .replace("{version}", version)
                .replace("{env}", env);
            let wanted: Vec<(&str, &str)> = [
                ("{host}", ("host", host)),
                ("{service}", ("service", service_value)),
                ("{app}", ("app", app_value)),
                ("{version}", ("version", version)),
                ("{env}", ("environment", env_value)),
            ]
            .into_iter()
            .filter(|(placeholder, _)| template.contains(placeholder))
            .map(|(_, want)| want)
            .collect();
            let understood = nlu.understand(&text);
            for (entity, value) in wanted {
                expected += 1;
                if understood
                    .entities
                    .iter()
                    .any(|m| m.entity == entity && m.value == value)
                {
                    found += 1;
                } else {
                    misses.push(format!(
                        "{text}: {entity}={value} ({:?})",
                        understood.entities
                    ));
                }
            }
        }
    }
    let rate = found as f64 / expected as f64;
    assert!(
        rate >= 0.9,
        "extracted {found} of {expected} ({:.0}%); missed:\n{}",
        rate * 100.0,
        misses.join("\n")
    );
}

#[test]
fn train_reports_the_tagger_and_a_project_without_annotations_has_none() {
    let fixture = Fixture::example();
    let out = fixture.run(&["train"], "");
    assert!(
        stdout(&out).contains("slot tagger for app,"),
        "{}",
        stdout(&out)
    );
    // Strip every annotation: no tagger, and the old one is removed.
    let path = fixture.path().join("intents/operations.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let plain = regex::Regex::new(r"\[([^\]]*)\]\([^)]*\)")
        .unwrap()
        .replace_all(&text, "$1")
        .into_owned();
    std::fs::write(&path, plain).unwrap();
    let out = fixture.run(&["train"], "");
    assert!(out.status.success(), "{}", crate::util::stderr(&out));
    assert!(
        stdout(&out).contains("no annotated examples, so no slot tagger"),
        "{}",
        stdout(&out)
    );
    assert!(!fixture.path().join("models/slot-tagger.bin").exists());
}
