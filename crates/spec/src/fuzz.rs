//! Property tests: no input makes the loader, the position index, or the
//! annotation and template parsers panic. `OPSBOT_FUZZ_CASES` sets the number
//! of cases per property (`make fuzz` runs many).

use proptest::prelude::*;

use crate::annotation;
use crate::diag::PositionIndex;
use crate::template::Template;

pub(crate) fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("OPSBOT_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text built from the pieces YAML and annotations are made of, so the
/// generator reaches deep into the parsers instead of failing at the first byte.
fn yamlish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("intents:\n".to_string()),
        Just("entities:\n".to_string()),
        Just("  restart:\n".to_string()),
        Just("    examples:\n".to_string()),
        Just("      - ".to_string()),
        Just("    pattern: ".to_string()),
        Just("    values:\n".to_string()),
        Just("out_of_scope:\n".to_string()),
        Just("[apache](service)".to_string()),
        Just("[".to_string()),
        Just("](".to_string()),
        Just(")".to_string()),
        Just("{".to_string()),
        Just("}".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just(": ".to_string()),
        Just("\n".to_string()),
        Just("\t".to_string()),
        Just("&a ".to_string()),
        Just("*a".to_string()),
        Just("- ".to_string()),
        Just("---\n".to_string()),
        "[a-z0-9 _-]{0,12}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn annotation_parser_never_panics(text in any::<String>()) {
        if let Ok(parsed) = annotation::parse(&text) {
            for span in &parsed.spans {
                prop_assert!(parsed.text.is_char_boundary(span.start) && parsed.text.is_char_boundary(span.end));
            }
        }
        let _ = annotation::label_offset(&text, 3);
    }

    #[test]
    fn annotation_parser_on_annotation_like_text(text in yamlish()) {
        let _ = annotation::parse(&text);
    }

    /// Whatever a message holds (its own brackets, backslashes, markup),
    /// written as an example it reads back as exactly that text with exactly
    /// the values marked: nothing of it becomes an annotation.
    #[test]
    fn annotated_messages_read_back_as_written(
        text in yamlish(),
        marks in prop::collection::vec((any::<usize>(), 1usize..12, "[a-z]{1,8}", yamlish()), 0..4),
    ) {
        let mut spans: Vec<annotation::EntitySpan> = Vec::new();
        for (start, len, entity, value) in marks {
            let start = start % (text.len() + 1);
            let end = (start + len).min(text.len());
            let fits = text.is_char_boundary(start)
                && text.is_char_boundary(end)
                && !text[start..end].trim().is_empty()
                && !value.trim().is_empty()
                && spans.iter().all(|s| end <= s.start || start >= s.end);
            if fits {
                spans.push(annotation::EntitySpan { start, end, entity, value });
            }
        }
        spans.sort_by_key(|s| s.start);
        let written = annotation::annotate(&text, &spans);
        let parsed = annotation::parse(&written);
        prop_assert!(parsed.is_ok(), "{written:?}: {parsed:?}");
        let parsed = parsed.unwrap();
        prop_assert_eq!(&parsed.text, &text);
        let expected: Vec<annotation::EntitySpan> = spans
            .into_iter()
            .map(|s| {
                let surface = &text[s.start..s.end];
                let value = if surface == s.value { surface.to_string() } else { s.value.trim().to_string() };
                annotation::EntitySpan { value, ..s }
            })
            .collect();
        prop_assert_eq!(parsed.spans, expected);
    }

    #[test]
    fn template_parser_never_panics(text in any::<String>(), value in any::<String>()) {
        if let Ok(template) = Template::parse(&text) {
            let values = template.placeholders().into_iter().map(|(name, _)| (name, value.clone())).collect();
            let _ = template.render(&values);
        }
    }

    #[test]
    fn position_index_never_panics(text in yamlish()) {
        let index = PositionIndex::build(std::path::Path::new("x.yaml"), &text);
        let _ = index.locate("intents.restart.examples.0");
        let _ = index.locate_in_scalar("intents.restart.examples.0", 7);
    }
}

proptest! {
    #![proptest_config(cases(200))]

    /// The whole loader on a project whose intents file is arbitrary.
    #[test]
    fn loader_never_panics(intents in yamlish(), dialogs in yamlish()) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("intents")).unwrap();
        std::fs::create_dir_all(dir.path().join("dialogs")).unwrap();
        std::fs::write(dir.path().join("intents/fuzz.yaml"), &intents).unwrap();
        std::fs::write(dir.path().join("dialogs/fuzz.yaml"), &dialogs).unwrap();
        match crate::load_project(dir.path()) {
            Ok(_) | Err(crate::SpecError::Invalid(_)) => {}
            Err(other) => prop_assert!(false, "unexpected error kind: {other}"),
        }
    }
}
