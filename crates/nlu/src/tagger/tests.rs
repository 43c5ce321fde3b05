//! The tagger's tests: words, learning from context, decoding, the artifact
//! round trip and damage, and the span scores.

use super::features::shape;
use super::*;

fn example(source: &str) -> TaggedText {
    let parsed = opsbot_spec::annotation::parse(source).unwrap();
    TaggedText {
        text: parsed.text,
        spans: parsed
            .spans
            .into_iter()
            .map(|s| (s.start, s.end, s.entity))
            .collect(),
    }
}

#[test]
fn words_keep_hosts_versions_and_addresses_whole() {
    let text = "deploy v2.4.1-rc1 to web-12.prod.example.com, then ping @ada:example.org!";
    let found: Vec<&str> = words(text).iter().map(|&(s, e)| &text[s..e]).collect();
    assert_eq!(
        found,
        [
            "deploy",
            "v2.4.1-rc1",
            "to",
            "web-12.prod.example.com",
            "then",
            "ping",
            "@ada:example.org"
        ]
    );
    assert_eq!(shape("web-01"), "x-d");
    assert_eq!(shape("Paris"), "Xx");
}

#[test]
fn learns_values_from_context_without_an_encoder() {
    let mut data = Vec::new();
    let cities = [
        "paris", "london", "berlin", "madrid", "rome", "oslo", "vienna", "prague",
    ];
    let days = ["monday", "friday", "sunday", "tuesday"];
    for (i, city) in cities.iter().enumerate() {
        let day = days[i % days.len()];
        data.push(example(&format!(
            "what is the weather in [{city}](city) on [{day}](day)"
        )));
        data.push(example(&format!("weather for [{city}](city) please")));
        data.push(example(&format!("will it rain in [{city}](city)")));
        data.push(example("tell me a joke"));
    }
    let vectors = vec![Vec::new(); data.len()];
    let tagger = Tagger::train(&data, &vectors, None, "hash", TaggerConfig::default());
    assert_eq!(tagger.entities(), ["city", "day"]);
    let text = "will it rain in lisbon";
    let found = tagger.tag(text, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(&text[found[0].start..found[0].end], "lisbon");
    assert_eq!(found[0].entity, "city");
    assert!(tagger.tag("tell me a joke", &[]).is_empty());

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(TAGGER_FILE);
    tagger.save(&path).unwrap();
    let loaded = Tagger::load(&path).unwrap();
    assert_eq!(loaded.tag(text, &[]), found);
    let good = std::fs::read(&path).unwrap();
    std::fs::write(&path, b"garbage").unwrap();
    assert!(Tagger::load(&path)
        .unwrap_err()
        .to_string()
        .contains("does not start like an opsbot slot tagger"));
    // Any one damaged byte is a clear error naming the file, never a panic
    // or a tagger that loads.
    for offset in (0..good.len()).step_by(good.len() / 200 + 1) {
        let mut bad = good.clone();
        bad[offset] ^= 0x5a;
        std::fs::write(&path, &bad).unwrap();
        let error = Tagger::load(&path)
            .err()
            .unwrap_or_else(|| panic!("byte {offset}"));
        assert!(error.to_string().contains(TAGGER_FILE), "{error}");
    }
}

#[test]
fn decoding_never_starts_a_span_inside() {
    let data = vec![
        example("go to [new york](city) now"),
        example("go home now"),
    ];
    let tagger = Tagger::train(&data, &[vec![], vec![]], None, "h", TaggerConfig::default());
    let spans = tagger.tag("go to new york now", &[]);
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].entity, "city");
    assert_eq!((spans[0].start, spans[0].end), (6, 14));
}

#[test]
fn slot_scores_count_exact_spans() {
    let mut scores = SlotScores::default();
    let gold = vec![(0, 3, "a".to_string()), (4, 6, "b".to_string())];
    let predicted = vec![(0, 3, "a".to_string()), (4, 7, "b".to_string())];
    scores.add(&gold, &predicted);
    assert_eq!(scores.counts["a"], (1, 0, 0));
    assert_eq!(scores.counts["b"], (0, 1, 1));
    let (p, r, f) = scores.micro();
    assert!((p - 0.5).abs() < 1e-9 && (r - 0.5).abs() < 1e-9 && (f - 0.5).abs() < 1e-9);
}
