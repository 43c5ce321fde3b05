//! Slot-filling benchmark (`make bench`): the trained slot tagger on SNIPS 2017,
//! training on the `train_*_full` files and testing on `validate_*`, as the data
//! README prescribes. Exact span and type match over words, micro-averaged, plus
//! per-slot figures, training time and the time tagging adds per message.
//!
//! Writes `target/bench/slots.md` and `target/bench/slots.json`. Set
//! `OPSBOT_BENCH_DATA` to read the datasets from elsewhere than `../shared/data`.

#[path = "common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use opsbot_encoder::MiniLm;
use opsbot_nlu::tagger::{encode_words, words, TaggerConfig};
use opsbot_nlu::{SentenceEncoder, SlotScores, TaggedText, Tagger};
use serde_json::json;

/// SNIPS 2017 files whose names start with `prefix`, with their slot spans.
fn snips(dir: &Path, prefix: &str) -> Vec<TaggedText> {
    let names = common::snips_files(dir, prefix);
    let mut out = Vec::new();
    for path in names {
        let bytes = std::fs::read(&path).expect("SNIPS file");
        // The files are UTF-8 with a few Latin-1 bytes; replace what does not decode.
        let value: serde_json::Value =
            serde_json::from_str(&String::from_utf8_lossy(&bytes)).expect("SNIPS JSON");
        for queries in value.as_object().expect("object").values() {
            for query in queries.as_array().expect("queries") {
                let mut text = String::new();
                let mut spans = Vec::new();
                for chunk in query["data"].as_array().expect("chunks") {
                    let piece = chunk["text"].as_str().unwrap_or("");
                    if let Some(entity) = chunk["entity"].as_str() {
                        let lead = piece.len() - piece.trim_start().len();
                        let start = text.len() + lead;
                        let end = start + piece.trim().len();
                        if end > start {
                            spans.push((start, end, entity.to_string()));
                        }
                    }
                    text.push_str(piece);
                }
                out.push(TaggedText { text, spans });
            }
        }
    }
    out
}

/// Spans as (first word, last word, entity): exact match over words, so a
/// chunk's trailing punctuation does not count against either side.
fn word_spans(text: &str, spans: &[(usize, usize, String)]) -> Vec<(usize, usize, String)> {
    let w = words(text);
    spans
        .iter()
        .filter_map(|(s, e, entity)| {
            let inside: Vec<usize> = (0..w.len())
                .filter(|&i| w[i].0 >= *s && w[i].1 <= *e)
                .collect();
            Some((*inside.first()?, *inside.last()?, entity.clone()))
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let data_dir = std::env::var_os("OPSBOT_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("../shared/data"));
    let snips_dir = data_dir.join("snips2017");
    let train = snips(&snips_dir, "train_");
    let test = snips(&snips_dir, "validate_");
    println!(
        "SNIPS 2017 slots: {} training, {} test queries",
        train.len(),
        test.len()
    );

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    MiniLm::set_threads(threads);
    let encoder = MiniLm::load(&root.join(opsbot_encoder::MODEL_DIR)).expect("run `make models`");
    let started = Instant::now();
    let texts: Vec<&str> = train.iter().map(|t| t.text.as_str()).collect();
    let vectors = encode_words(Some(&encoder as &dyn SentenceEncoder), &texts, |_, _| {})
        .expect("word vectors");
    let encoding_seconds = started.elapsed().as_secs_f64();
    let tagger = Tagger::train(
        &train,
        &vectors,
        Some(encoder.id()),
        "snips",
        TaggerConfig::default(),
    );
    let training_seconds = started.elapsed().as_secs_f64();
    drop(vectors);

    // The same tagger without word vectors: what the sparse features alone do.
    let no_vectors: Vec<Vec<Vec<f32>>> = vec![Vec::new(); train.len()];
    let sparse_started = Instant::now();
    let sparse_tagger = Tagger::train(&train, &no_vectors, None, "snips", TaggerConfig::default());
    let sparse_seconds = sparse_started.elapsed().as_secs_f64();

    MiniLm::set_threads(1);
    let mut scores = SlotScores::default();
    let mut sparse_scores = SlotScores::default();
    let mut tag_ms = Vec::new();
    let mut encode_extra_ms = Vec::new();
    for example in &test {
        let spans = words(&example.text);
        let before = Instant::now();
        let encoded = SentenceEncoder::encode_words(&encoder, &[(example.text.as_str(), &spans)])
            .expect("word vectors")
            .pop()
            .expect("one");
        let with_words = before.elapsed().as_secs_f64() * 1000.0;
        let before = Instant::now();
        let found = tagger.tag(&example.text, &encoded.words);
        tag_ms.push(before.elapsed().as_secs_f64() * 1000.0);
        let before = Instant::now();
        encoder.encode(&[example.text.as_str()]).expect("sentence");
        let sentence_only = before.elapsed().as_secs_f64() * 1000.0;
        encode_extra_ms.push(with_words - sentence_only);
        let predicted: Vec<(usize, usize, String)> = found
            .into_iter()
            .map(|s| (s.start, s.end, s.entity))
            .collect();
        let gold = word_spans(&example.text, &example.spans);
        scores.add(&gold, &word_spans(&example.text, &predicted));
        let sparse: Vec<(usize, usize, String)> = sparse_tagger
            .tag(&example.text, &[])
            .into_iter()
            .map(|s| (s.start, s.end, s.entity))
            .collect();
        sparse_scores.add(&gold, &word_spans(&example.text, &sparse));
    }
    tag_ms.sort_by(f64::total_cmp);
    encode_extra_ms.sort_by(f64::total_cmp);
    // Tagging's cost per message: the decoder plus what asking the encoder for
    // word vectors adds to the sentence embedding the classifier needs anyway.
    let mut added: Vec<f64> = tag_ms
        .iter()
        .zip(&encode_extra_ms)
        .map(|(a, b)| a + b.max(0.0))
        .collect();
    added.sort_by(f64::total_cmp);

    let (p, r, f) = scores.micro();
    let (sp, sr, sf) = sparse_scores.micro();
    let per_slot: Vec<serde_json::Value> = scores
        .counts
        .iter()
        .map(|(entity, &counts)| {
            let (p, r, f) = SlotScores::prf(counts);
            json!({"slot": entity, "precision": p, "recall": r, "f1": f,
                   "support": counts.0 + counts.2})
        })
        .collect();
    let report = json!({
        "dataset": "SNIPS 2017 (train_*_full → validate_*)",
        "train_queries": train.len(),
        "test_queries": test.len(),
        "tagger": {"precision": p, "recall": r, "f1": f,
                   "training_seconds": training_seconds, "encoding_seconds": encoding_seconds},
        "tagger_without_word_vectors": {"precision": sp, "recall": sr, "f1": sf,
                   "training_seconds": sparse_seconds},
        "latency_ms": {
            "tag_p50": percentile(&tag_ms, 0.5), "tag_p99": percentile(&tag_ms, 0.99),
            "added_p50": percentile(&added, 0.5), "added_p99": percentile(&added, 0.99),
        },
        "per_slot": per_slot,
        "threads_training": threads,
    });
    let out = root.join("target/bench");
    std::fs::create_dir_all(&out).expect("target/bench");
    std::fs::write(
        out.join("slots.json"),
        serde_json::to_string_pretty(&report).expect("json"),
    )
    .expect("slots.json");
    let mut md = String::from("# opsbot slot-filling benchmark (`make bench`)\n\n");
    md.push_str(&format!(
        "SNIPS 2017: trained on the {} queries of `train_*_full`, tested on the {} of `validate_*`; exact span and type match over words, micro-averaged. {} CPU threads for training, one for tagging.\n\n",
        train.len(), test.len(), threads
    ));
    md.push_str("| system | precision | recall | F1 | training s |\n|---|---|---|---|---|\n");
    md.push_str(&format!(
        "| opsbot tagger (MiniLM word vectors + word features) | {:.1} | {:.1} | **{:.1}** | {:.0} |\n",
        p * 100.0, r * 100.0, f * 100.0, training_seconds
    ));
    md.push_str(&format!(
        "| opsbot tagger, word features only | {:.1} | {:.1} | {:.1} | {:.0} |\n\n",
        sp * 100.0,
        sr * 100.0,
        sf * 100.0,
        sparse_seconds
    ));
    md.push_str(&format!(
        "Published: JointBERT (fine-tuned BERT-base) 97.0 slot F1 on the SNIPS split of Goo et al. (2018).\n\nTagging per message (one thread): decoder p50 {:.2} ms, p99 {:.2} ms; added to the NLU (decoder + word vectors from the same encoder pass) p50 {:.2} ms, p99 {:.2} ms. Encoding the training queries took {:.0} s of the training time.\n\n",
        percentile(&tag_ms, 0.5), percentile(&tag_ms, 0.99),
        percentile(&added, 0.5), percentile(&added, 0.99), encoding_seconds
    ));
    md.push_str("| slot | precision | recall | F1 | support |\n|---|---|---|---|---|\n");
    for row in &report["per_slot"].as_array().expect("rows").clone() {
        md.push_str(&format!(
            "| {} | {:.1} | {:.1} | {:.1} | {} |\n",
            row["slot"].as_str().unwrap_or(""),
            row["precision"].as_f64().unwrap_or(0.0) * 100.0,
            row["recall"].as_f64().unwrap_or(0.0) * 100.0,
            row["f1"].as_f64().unwrap_or(0.0) * 100.0,
            row["support"]
        ));
    }
    std::fs::write(out.join("slots.md"), &md).expect("slots.md");
    println!("{md}");
    println!("report: {}", out.join("slots.md").display());
}
