//! `target/bench/nlu.md` from the figures: opsbot before and after on every
//! task (few-shot rows as mean ± spread over the seeds), the peers, the cost
//! of training and of one message.

use serde_json::Value;

use crate::data::SEEDS;

fn pct(v: &Value) -> String {
    v.as_f64()
        .map(|x| format!("{:.1}", x * 100.0))
        .unwrap_or_else(|| "–".into())
}

fn num(v: &Value, digits: usize) -> String {
    v.as_f64()
        .map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

/// Mean and standard deviation of a figure over rows.
fn spread(rows: &[&Value], key: &str, scale: f64, digits: usize) -> String {
    let values: Vec<f64> = rows.iter().filter_map(|r| r[key].as_f64()).collect();
    if values.is_empty() {
        return "–".into();
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() == 1 {
        return format!("{:.digits$}", mean * scale);
    }
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    format!("{:.digits$} ± {:.digits$}", mean * scale, sd * scale)
}

/// The rows of one task for one configuration: one, or one per seed.
fn task_rows<'a>(report: &'a Value, task: &str, config: &str) -> Vec<&'a Value> {
    let rows = &report["rows"];
    let single = &rows[task][config];
    if !single.is_null() {
        return vec![single];
    }
    SEEDS
        .iter()
        .map(|s| &rows[format!("{task}_s{s}")][config])
        .filter(|r| !r.is_null())
        .collect()
}

const TASKS: [(&str, &str); 5] = [
    ("clinc150_full", "CLINC150 full"),
    ("clinc150_full_fine_tuned", "CLINC150 full, `--fine-tune`"),
    ("clinc150_10shot", "CLINC150 10-shot (3 seeds)"),
    ("clinc150_5shot", "CLINC150 5-shot (3 seeds)"),
    ("snips2017", "SNIPS 2017 intents"),
];

pub fn render(report: &Value) -> String {
    let mut md = String::new();
    md.push_str("# opsbot NLU benchmark (`make bench`)\n\n");
    md.push_str(&format!(
        "{} CPU cores, no GPU. opsbot: all-MiniLM-L6-v2 embeddings (frozen) + n-gram features, softmax regression and class prototypes, trained in Rust. **before**: early stopping and calibration on one 10 % hold-out, linear head only; **after**: the defaults — out-of-fold readings of 5-fold cross-validation choose the epochs, the prototype weight, the temperature and the threshold (data sets whose hold-out would have under 1,000 examples; larger ones keep the hold-out, CLINC150 full calibrates on its validation split). Few-shot rows: mean ± standard deviation over seeds {SEEDS:?}. Each row ran in a process of its own (peak memory includes the encoder). Training seconds exclude encoding except where \"encoded\" says how many sentences the encoder had to embed.\n\n",
        report["machine"]["cpus"]
    ));
    md.push_str("| task | opsbot | in-scope acc. | no threshold | right answers refused | OOS recall | ECE | training s | encoded | peak MiB |\n");
    md.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for (key, title) in TASKS {
        for config in ["before", "after"] {
            let rows = task_rows(report, key, config);
            if rows.is_empty() {
                continue;
            }
            if let Some(error) = rows[0].get("error") {
                md.push_str(&format!(
                    "| {title} | {config} | error: {error} |||||||||\n"
                ));
                continue;
            }
            md.push_str(&format!(
                "| {title} | {config} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                spread(&rows, "in_scope_accuracy", 100.0, 1),
                spread(&rows, "in_scope_accuracy_no_threshold", 100.0, 1),
                spread(&rows, "refused_right", 100.0, 1),
                spread(&rows, "out_of_scope_recall", 100.0, 1),
                spread(&rows, "ece", 100.0, 1),
                spread(&rows, "training_seconds", 1.0, 1),
                spread(&rows, "encoded", 1.0, 0),
                spread(&rows, "peak_rss_mib", 1.0, 0),
            ));
        }
    }
    md.push_str("\nPercentages; ECE: expected calibration error of the likeliest class's probability on the test set (10 bins). \"right answers refused\": in-scope test messages whose likeliest intent was right but fell under the threshold.\n\n");

    md.push_str("Peers on the same splits (few-shot: mean ± spread over the seeds):\n\n| task | system | in-scope acc. | OOS recall | training s | p50 ms |\n|---|---|---|---|---|---|\n");
    for (key, title) in TASKS {
        for (peer, name) in [
            ("tfidf_linear_svm", "TF-IDF + LinearSVC"),
            ("fasttext", "fastText"),
        ] {
            let rows: Vec<&Value> = std::iter::once(&report["peers"][key][peer])
                .chain(
                    SEEDS
                        .iter()
                        .map(|s| &report["peers"][format!("{key}_s{s}")][peer]),
                )
                .filter(|p| !p.is_null())
                .collect();
            if rows.is_empty() {
                continue;
            }
            if let Some(error) = rows[0].get("error") {
                md.push_str(&format!("| {title} | {name} | error: {error} | | | |\n"));
                continue;
            }
            let p50: Vec<Value> = rows
                .iter()
                .map(|r| r["latency"]["p50_ms"].clone())
                .collect();
            md.push_str(&format!(
                "| {title} | {name} | {} | {} | {} | {} |\n",
                spread(&rows, "in_scope_accuracy", 100.0, 1),
                spread(&rows, "out_of_scope_recall", 100.0, 1),
                spread(&rows, "training_seconds", 1.0, 1),
                num(&p50[0], 2),
            ));
        }
    }

    let full = &report["rows"]["clinc150_full"]["after"];
    md.push_str(&format!(
        "\nCLINC150 full (after): threshold {} ({}), temperature {}, prototype weight {}, nearest-example weight {}.\n\n",
        num(&full["threshold"], 2),
        full["threshold_rule"].as_str().unwrap_or("–"),
        num(&full["temperature"], 2),
        num(&full["prototype_weight"], 0),
        num(&full["neighbour_weight"], 0),
    ));
    if let Some(points) = full["operating_points"].as_array() {
        md.push_str("Other thresholds on the CLINC150 full test set (for choosing `confidence_threshold`):\n\n| threshold | in-scope acc. | OOS recall | right answers refused |\n|---|---|---|---|\n");
        for point in points {
            md.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                num(&point["threshold"], 1),
                pct(&point["in_scope_accuracy"]),
                pct(&point["out_of_scope_recall"]),
                pct(&point["refused_right"]),
            ));
        }
        md.push('\n');
    }
    let latency = &full["latency_one_message"];
    md.push_str(&format!(
        "- Latency per message (encoder + classifier, one at a time, one thread): p50 {} ms, p99 {} ms over {} CLINC150 test queries.\n",
        num(&latency["p50_ms"], 1),
        num(&latency["p99_ms"], 1),
        latency["messages"]
    ));
    let shell = &report["opsbot_shell"];
    md.push_str(&format!(
        "- Through `opsbot shell` on the example bot (parse, dialog, sled, audit): {} ms per message (201 messages minus 1, over 200); start-up and one message {} s; peak memory {} MiB.\n",
        num(&shell["per_message_ms"], 1),
        num(&shell["startup_and_one_message_seconds"], 2),
        num(&shell["peak_rss_mib"], 0),
    ));
    for (key, title) in [
        ("clinc150_10k", "10,000 CLINC150 examples"),
        ("example_bot", "The example bot"),
    ] {
        let c = &report["cost"][key];
        if c.is_null() {
            continue;
        }
        md.push_str(&format!(
            "- {title} ({} examples, {}): trained with an empty embedding cache in {} s ({} s of it encoding); peak memory {} MiB (the encoder loaded: {} MiB, after encoding: {} MiB); after one new example, retrained in {} s ({}); a full retrain then takes {} s.{}\n",
            c["examples"],
            c["method"].as_str().unwrap_or("–"),
            num(&c["cold_seconds"], 1),
            num(&c["encoding_seconds"], 1),
            num(&c["cold_peak_rss_mib"], 0),
            num(&c["peak_rss_mib_encoder_loaded"], 0),
            num(&c["peak_rss_mib_after_encoding"], 0),
            num(&c["after_one_new_example_seconds"], 2),
            c["after_one_new_example_method"].as_str().unwrap_or("–"),
            num(&c["full_retrain_seconds"], 1),
            match c["cold_accuracy_no_threshold"].as_f64() {
                Some(_) => format!(
                    " In-scope accuracy on the CLINC150 test set without threshold: {} first, {} after the warm start, {} after the full retrain.",
                    pct(&c["cold_accuracy_no_threshold"]),
                    pct(&c["after_one_new_example_accuracy_no_threshold"]),
                    pct(&c["full_retrain_accuracy_no_threshold"]),
                ),
                None => String::new(),
            },
        ));
    }
    md.push_str("\nPublished (Larson et al. 2019, Table 2, in-scope / OOS recall): BERT 96.9 / 40.3 (oos-train), BERT + threshold 96.2 / 52.3, Rasa 91.5 / 45.3, DialogFlow 91.7 / 14.0, SVM 91.0 / 14.5, FastText 89.0 / 9.7. Few-shot anchors (10 per intent, BANKING77): USE+ConveRT 85.2, DNNC 86.7, CPFT 87.2.\n");
    md
}
