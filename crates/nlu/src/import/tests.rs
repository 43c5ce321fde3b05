//! The importers on small inline files: each format, header columns, bad lines and names.

use super::*;

fn pairs(data: &TrainingData) -> Vec<(&str, &str)> {
    data.texts
        .iter()
        .map(String::as_str)
        .zip(data.labels.iter().map(String::as_str))
        .collect()
}

#[test]
fn reads_rasa_yaml_with_annotations() {
    let text = r#"
version: "3.1"
nlu:
- intent: restart
  examples: |
    - restart [nginx](service) on [web-01]{"entity": "host"}
    - bounce apache
- synonym: nginx
  examples: |
    - engine x
- intent: greet
  examples: |
    - hello
"#;
    let data = parse(text, Format::Yaml).unwrap();
    assert_eq!(
        pairs(&data),
        [
            ("restart nginx on web-01", "restart"),
            ("bounce apache", "restart"),
            ("hello", "greet")
        ]
    );
}

#[test]
fn reads_rasa_markdown_skipping_other_sections() {
    let text = "## intent:deploy\n- deploy [v1.2](version)\n- ship it\n\n## synonym:prod\n- production\n## intent:greet\n- hi\n";
    let data = parse(text, Format::RasaMarkdown).unwrap();
    assert_eq!(
        pairs(&data),
        [
            ("deploy v1.2", "deploy"),
            ("ship it", "deploy"),
            ("hi", "greet")
        ]
    );
}

#[test]
fn reads_tsv_and_csv_and_names_the_bad_line() {
    let data = parse(
        "# comment\nrestart apache\trestart\n\nhello\tgreet\n",
        Format::Tsv,
    )
    .unwrap();
    assert_eq!(
        pairs(&data),
        [("restart apache", "restart"), ("hello", "greet")]
    );
    let err = parse("ok\tgreet\nno tab here\n", Format::Tsv).unwrap_err();
    assert_eq!(err.0, 2);

    let data = parse(
        "text,intent\n\"restart apache, now\",restart\nhi,greet\n",
        Format::Csv,
    )
    .unwrap();
    assert_eq!(
        pairs(&data),
        [("restart apache, now", "restart"), ("hi", "greet")]
    );
    let err = parse("a,b\nonly one column\n", Format::Csv).unwrap_err();
    assert_eq!(err.0, 2, "{err:?}");
}

#[test]
fn columns_are_found_by_header_name_or_flag() {
    // A usual header name, in any order, with other columns beside.
    let data = parse(
        "id,category,text\n1,greet,hi there\n2,bye,see you\n",
        Format::Csv,
    )
    .unwrap();
    assert_eq!(pairs(&data), [("hi there", "greet"), ("see you", "bye")]);
    let data = parse("sentence\tlabel\nhello\tgreet\n", Format::Tsv).unwrap();
    assert_eq!(pairs(&data), [("hello", "greet")]);
    // Named by flag.
    let columns = Columns {
        text: Some("Utterance Text".into()),
        intent: Some("gold".into()),
    };
    let data = parse_with("gold,Utterance Text\ngreet,hi\n", Format::Csv, &columns).unwrap();
    assert_eq!(pairs(&data), [("hi", "greet")]);
    let err = parse_with("a,b\nhi,greet\n", Format::Csv, &columns).unwrap_err();
    assert_eq!(err.0, 1);
    assert!(
        err.1.contains("no text column named `Utterance Text`") && err.1.contains("`a`, `b`"),
        "{err:?}"
    );
    let err = parse_with("intents: {}\n", Format::Yaml, &columns).unwrap_err();
    assert!(err.1.contains("CSV or TSV"), "{err:?}");
    // A row shorter than the header names its line.
    let err = parse("id,text,intent\n1,hi,greet\n2,oops\n", Format::Csv).unwrap_err();
    assert_eq!(err.0, 3, "{err:?}");
}

#[test]
fn unusable_intent_names_are_refused_with_their_line() {
    let err = parse(
        "text,intent\nhi,greet\nmy card payment was reverted,reverted_card_payment?\n",
        Format::Csv,
    )
    .unwrap_err();
    assert_eq!(err.0, 3);
    assert!(
        err.1
            .contains("`reverted_card_payment?` is not a usable intent name")
            && err.1.contains("`reverted_card_payment`"),
        "{err:?}"
    );
    let err = parse("hi\tsmall talk\n", Format::Tsv).unwrap_err();
    assert_eq!(err.0, 1);
    let err = parse("## intent:what's up\n- hi\n", Format::RasaMarkdown).unwrap_err();
    assert!(err.1.contains("not a usable intent name"), "{err:?}");
    // The out-of-scope class keeps its reserved name.
    let data = parse("tell me a joke\tout_of_scope\n", Format::Tsv).unwrap();
    assert_eq!(pairs(&data), [("tell me a joke", "out_of_scope")]);
}

#[test]
fn reads_opsbot_intents() {
    let data = parse(
        "intents:\n  greet:\n    examples:\n      - hi [there](who)\n",
        Format::Yaml,
    )
    .unwrap();
    assert_eq!(pairs(&data), [("hi there", "greet")]);
}
