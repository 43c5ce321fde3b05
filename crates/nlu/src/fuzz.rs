//! Property test: the NLU answers any text without panicking, with entity spans
//! inside the text and probabilities that add up. `OPSBOT_FUZZ_CASES` sets the
//! number of cases.

use std::path::Path;
use std::sync::OnceLock;

use proptest::prelude::*;

use crate::{train, EntityExtractor, Nlu, NluConfig, TrainOptions, TrainingData};

fn example_nlu() -> &'static Nlu {
    static NLU: OnceLock<Nlu> = OnceLock::new();
    NLU.get_or_init(|| {
        let project =
            opsbot_spec::load_project(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
                .expect("example bot loads");
        let data = TrainingData::from_project(&project);
        let model = train(
            &data,
            &EntityExtractor::new(&project),
            &NluConfig::default(),
            &project.training_hash,
            TrainOptions::default(),
            |_| {},
        )
        .expect("training");
        Nlu::new(&project, model, None).expect("model fits")
    })
}

fn cases() -> ProptestConfig {
    let cases = std::env::var("OPSBOT_FUZZ_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn messageish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("restart ".to_string()),
        Just("apache ".to_string()),
        Just("on web-01".to_string()),
        Just("192.168.0.24".to_string()),
        Just("opsbot".to_string()),
        Just("İ".to_string()),
        Just("ß".to_string()),
        Just("\u{301}".to_string()),
        Just("; ".to_string()),
        Just("$(".to_string()),
        "[a-z0-9 .-]{0,10}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|p| p.concat())
}

proptest! {
    #![proptest_config(cases())]

    #[test]
    fn understanding_never_panics(text in messageish()) {
        let u = example_nlu().understand(&text);
        let total: f32 = u.ranking.iter().map(|g| g.confidence).sum();
        prop_assert!(total <= 1.0 + 1e-4);
        for e in &u.entities {
            prop_assert!(e.end <= text.len() && text.is_char_boundary(e.start) && text.is_char_boundary(e.end));
            prop_assert_eq!(&text[e.start..e.end], e.surface.as_str());
        }
    }
}
