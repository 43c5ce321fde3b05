//! Can the sentence encoder tell a verb's synonym from a near miss? The
//! probe behind the request-word judgement's design (issue 25): for pairs
//! of ops verbs, the cosine similarity of MiniLM's embeddings of the words
//! alone, of the words in one sentence (their contextual vectors), and of
//! the two sentences. Synonyms would have to score above near misses for
//! the encoder to judge an unseen verb; they do not, so the judgement asks.
//!
//! `cargo bench --bench verbs` (part of `make bench`); prints a table and
//! writes `target/bench/verbs.md`.

use std::path::Path;

use opsbot_encoder::MiniLm;

/// (a verb the examples use, a synonym, a near miss), in one sentence frame.
const CASES: &[(&str, &str, &str, &str)] = &[
    ("restart", "bounce", "upgrade", "{} apache on web-01"),
    ("restart", "cycle", "uninstall", "{} apache on web-01"),
    ("kill", "nuke", "optimize", "{} the queries on billing"),
    ("deploy", "ship", "delete", "{} shop 1.2 to staging"),
    ("fail", "switch", "upgrade", "{} over pg-main"),
];

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    dot / (norm(a) * norm(b))
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let encoder = MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("run `make models`");
    let mut rows = vec![
        "| verb | synonym / near miss | words alone | in the sentence | sentences |".to_string(),
        "|---|---|---|---|---|".to_string(),
    ];
    for &(verb, synonym, miss, frame) in CASES {
        let words = encoder.encode(&[verb, synonym, miss]).expect("encode");
        let sentence = |w: &str| frame.replace("{}", w);
        let said: Vec<String> = [verb, synonym, miss].iter().map(|w| sentence(w)).collect();
        let mut contextual = Vec::new();
        for text in &said {
            let end = text.find(' ').expect("a frame with words after the verb");
            let spans = [(0, end)];
            let (sentence, vectors) = encoder
                .encode_words(&[(text.as_str(), spans.as_slice())])
                .expect("encode words")
                .remove(0);
            contextual.push((sentence, vectors[0].clone()));
        }
        for (i, other) in [(1, synonym), (2, miss)] {
            rows.push(format!(
                "| {verb} | {other} ({}) | {:.2} | {:.2} | {:.2} |",
                if i == 1 { "synonym" } else { "near miss" },
                cosine(&words[0], &words[i]),
                cosine(&contextual[0].1, &contextual[i].1),
                cosine(&contextual[0].0, &contextual[i].0),
            ));
        }
    }
    let table = rows.join("\n");
    println!("{table}");
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    std::fs::write(
        out.join("verbs.md"),
        format!("# Verb similarity in MiniLM\n\n{table}\n"),
    )
    .expect("writing target/bench/verbs.md");
}
