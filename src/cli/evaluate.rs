//! `opsbot import` and `opsbot evaluate`: datasets in, scores out.

use super::train::{bar, training_threads};
use super::*;

pub(super) fn import(paths: &Paths, args: &ImportArgs) -> Result<()> {
    let columns = opsbot_nlu::import::Columns {
        text: args.text_column.clone(),
        intent: args.intent_column.clone(),
    };
    let data = opsbot_nlu::import::read_file_with(&args.file, &columns)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| paths.project.join("intents").join("imported.yaml"));
    if out.exists() && !args.force {
        bail!("{} exists; pass --force to replace it", out.display());
    }
    let mut intents: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    let mut out_of_scope: Vec<&str> = Vec::new();
    for (text, label) in data.texts.iter().zip(&data.labels) {
        if label == opsbot_spec::OUT_OF_SCOPE {
            out_of_scope.push(text);
        } else {
            intents.entry(label).or_default().push(text);
        }
    }
    let mut yaml = format!(
        "# Imported from {} by `opsbot import`. Entity annotations were dropped:\n# mark values as [value](entity) where the dialogs need them.\nintents:\n",
        args.file.display()
    );
    for (intent, examples) in &intents {
        yaml.push_str(&format!("  {intent}:\n    examples:\n"));
        for example in examples {
            yaml.push_str(&format!("      - {}\n", serde_json::to_string(example)?));
        }
    }
    if !out_of_scope.is_empty() {
        yaml.push_str("out_of_scope:\n");
        for example in &out_of_scope {
            yaml.push_str(&format!("  - {}\n", serde_json::to_string(example)?));
        }
    }
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(&out, yaml).with_context(|| format!("writing {}", out.display()))?;
    println!(
        "imported {} examples of {} intents into {}; run `opsbot check` and add dialogs for new intents",
        data.len(),
        intents.len(),
        out.display()
    );
    Ok(())
}

pub(super) fn evaluate(paths: &Paths, args: &EvaluateArgs) -> Result<()> {
    if args.reviewed {
        super::review::evaluate_reviewed(paths)?;
    }
    let project = app::load_project(paths)?;
    let extractor = EntityExtractor::new(&project);
    let mut slots: Option<opsbot_nlu::SlotScores> = None;
    let evaluation = match &args.test {
        Some(file) => {
            // A held-out test file against the trained model, read exactly as
            // the live bot reads messages.
            let test = opsbot_nlu::import::read_file(file)?;
            let nlu = app::load_nlu(&project, paths)?;
            refuse_unknown_labels(&test, nlu.model(), file)?;
            let live = opsbot_nlu::evaluate::evaluate_live(&nlu, &test);
            let source = match project.settings.confidence_threshold {
                Some(_) => "confidence_threshold in opsbot.yaml",
                None => "learned in training",
            };
            println!(
                "{} examples from {} against {}, as the bot reads them: threshold {:.2} ({source}), ambiguity margin {:.2}; {} would get \"did you mean …?\" (counted as not answered)",
                live.evaluation.examples,
                file.display(),
                paths.model().display(),
                nlu.threshold(),
                project.settings.ambiguity_margin,
                live.paths.asked_which(),
            );
            println!(
                "without a threshold or question: in-scope accuracy {:.1}%",
                100.0 * live.in_scope_accuracy_without_threshold
            );
            print_paths(&live.paths, live.evaluation.examples);
            live.evaluation
        }
        None => {
            let data = TrainingData::from_project(&project);
            let encoder = if project.settings.use_encoder {
                Some(app::load_encoder(paths, training_threads())?)
            } else {
                None
            };
            let cached = encoder
                .as_ref()
                .map(|e| CachedEncoder::new(e, EmbeddingCache::open(&paths.embedding_cache())));
            let progress = bar(args.folds as u64, "folds");
            slots = Some(opsbot_nlu::tagger::cross_validate_slots(
                &project,
                &extractor,
                cached.as_ref().map(|c| c as &dyn SentenceEncoder),
                args.folds,
                args.seed,
            )?);
            let evaluation = cross_validate(
                &data,
                &extractor,
                &super::train::nlu_config(&project),
                args.folds,
                args.seed,
                project.settings.confidence_threshold,
                cached.as_ref().map(|c| c as &dyn SentenceEncoder),
                |k| progress.set_position(k as u64),
            )?;
            progress.finish_and_clear();
            println!(
                "{}-fold cross-validation on {} examples (seed {}), threshold {}",
                evaluation.folds,
                evaluation.examples,
                args.seed,
                match project.settings.confidence_threshold {
                    Some(t) => format!("{t:.2} from confidence_threshold in opsbot.yaml"),
                    None => "learned by each fold's model".to_string(),
                }
            );
            evaluation
        }
    };
    print_evaluation(&evaluation);
    let slot_report = slots.as_ref().map(print_slots);
    let near_miss_file =
        near_miss::test_file(paths, args.near_misses.as_deref(), "near_misses.txt");
    let readings_file =
        near_miss::test_file(paths, args.right_readings.as_deref(), "right_readings.txt");
    let trained = if near_miss_file.is_some() || readings_file.is_some() {
        Some(app::load_nlu(&project, paths)?)
    } else {
        None
    };
    let near_misses = match (&near_miss_file, &trained) {
        (Some(file), Some(nlu)) => {
            let report = near_miss::near_misses(nlu, &project, file)?;
            near_miss::print_near_misses(&report);
            Some(report)
        }
        _ => None,
    };
    let readings = match (&readings_file, &trained) {
        (Some(file), Some(nlu)) => {
            let report = near_miss::right_readings(nlu, &project, file)?;
            near_miss::print_right_readings(&report);
            Some(report)
        }
        _ => None,
    };
    let extras = match extra_parts::extra_parts_file(paths, args.extra_parts.as_deref()) {
        Some(file) => {
            let report = extra_parts::extra_parts(paths, &project, &file)?;
            extra_parts::print_extra_parts(&report);
            Some(report)
        }
        None => None,
    };
    if let Some(json) = &args.json {
        let mut value = serde_json::to_value(&evaluation)?;
        if let (Some(object), Some(report)) = (value.as_object_mut(), &extras) {
            object.insert("extra_parts".into(), serde_json::to_value(report)?);
        }
        if let (Some(object), Some(report)) = (value.as_object_mut(), slot_report) {
            object.insert("slots".into(), report);
        }
        if let (Some(object), Some(report)) = (value.as_object_mut(), &near_misses) {
            object.insert("near_misses".into(), serde_json::to_value(report)?);
        }
        if let (Some(object), Some(report)) = (value.as_object_mut(), &readings) {
            object.insert("right_readings".into(), serde_json::to_value(report)?);
        }
        std::fs::write(json, serde_json::to_vec_pretty(&value)?)
            .with_context(|| format!("writing {}", json.display()))?;
        println!("\nwrote {}", json.display());
    }
    if let Some(image) = &args.confusion {
        crate::confusion::write_svg(&evaluation.confusion, image)
            .with_context(|| format!("writing {}", image.display()))?;
        println!("wrote {}", image.display());
    }
    Ok(())
}

/// What the messages would meet in chat, each path with its share.
fn print_paths(paths: &opsbot_nlu::evaluate::Paths, examples: usize) {
    let share = |n: usize| 100.0 * n as f64 / examples.max(1) as f64;
    println!("what each message would meet:");
    for (what, n) in [
        ("answered, right intent", paths.answered_right),
        ("answered, wrong intent", paths.answered_wrong),
        (
            "asked \"A or B?\", the right intent one of them",
            paths.asked_which_right,
        ),
        ("asked \"A or B?\", neither right", paths.asked_which_wrong),
        (
            "asked \"did you mean to …?\", the right intent",
            paths.asked_meant_right,
        ),
        (
            "asked \"did you mean to …?\", another intent",
            paths.asked_meant_wrong,
        ),
        ("  … of which out of scope", paths.asked_meant_out_of_scope),
        ("refused, out of scope", paths.refused_right),
        ("refused, though in scope", paths.refused_in_scope),
        (
            "  … of which the likeliest intent was right",
            paths.refused_right_reading,
        ),
    ] {
        println!("  {what:<50} {n:>6}  {:>5.1}%", share(n));
    }
}

/// A test file whose labels the model does not know would be scored wrong
/// without a word (a renamed intent): refused, naming them.
fn refuse_unknown_labels(test: &TrainingData, model: &IntentModel, file: &Path) -> Result<()> {
    let known = &model.classes;
    let mut unknown: std::collections::BTreeMap<&str, usize> = Default::default();
    for label in &test.labels {
        if label != opsbot_spec::OUT_OF_SCOPE && !known.iter().any(|k| k == label) {
            *unknown.entry(label).or_default() += 1;
        }
    }
    if unknown.is_empty() {
        return Ok(());
    }
    let listed: Vec<String> = unknown
        .iter()
        .map(|(label, n)| format!("`{label}` ({n} examples)"))
        .collect();
    bail!(
        "{} has labels the model was not trained on: {}; expected the intents of intents/ ({}) or `{}`",
        file.display(),
        listed.join(", "),
        known
            .iter()
            .filter(|k| k.as_str() != opsbot_spec::OUT_OF_SCOPE)
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        opsbot_spec::OUT_OF_SCOPE
    )
}

/// Per-entity slot figures (exact span match); returns them for the JSON.
pub(super) fn print_slots(scores: &opsbot_nlu::SlotScores) -> serde_json::Value {
    let (p, r, f) = scores.micro();
    println!(
        "\nslots (exact span and entity): precision {:.1}%, recall {:.1}%, F1 {:.1}%",
        p * 100.0,
        r * 100.0,
        f * 100.0
    );
    let mut per_entity = serde_json::Map::new();
    for (entity, &counts) in &scores.counts {
        let (p, r, f) = opsbot_nlu::SlotScores::prf(counts);
        println!(
            "  {entity:<18} precision {:>5.1}%  recall {:>5.1}%  F1 {:>5.1}%  ({} annotated)",
            p * 100.0,
            r * 100.0,
            f * 100.0,
            counts.0 + counts.2
        );
        per_entity.insert(
            entity.clone(),
            serde_json::json!({"precision": p, "recall": r, "f1": f, "support": counts.0 + counts.2}),
        );
    }
    serde_json::json!({"precision": p, "recall": r, "f1": f, "entities": per_entity})
}

pub(super) fn print_evaluation(evaluation: &opsbot_nlu::evaluate::Evaluation) {
    println!("accuracy           {:.1}%", evaluation.accuracy * 100.0);
    println!(
        "in-scope accuracy  {:.1}%",
        evaluation.in_scope_accuracy * 100.0
    );
    if let Some(oos) = &evaluation.out_of_scope {
        println!(
            "out of scope       precision {:.1}%, recall {:.1}% ({} examples)",
            oos.precision * 100.0,
            oos.recall * 100.0,
            oos.support
        );
    }
    println!("macro-F1           {:.1}%", evaluation.macro_f1 * 100.0);
    println!("threshold          {:.2}", evaluation.threshold);
    println!(
        "refused right      {:.1}% of the in-scope messages whose likeliest intent was right went unanswered",
        evaluation.refused_right * 100.0
    );
    let reliability = &evaluation.reliability;
    println!(
        "calibration        expected calibration error {:.1}% ({}), over {} messages",
        reliability.ece * 100.0,
        if reliability.overconfidence > 0.0 {
            format!(
                "over-confident by {:.1} points on average",
                reliability.overconfidence * 100.0
            )
        } else {
            format!(
                "under-confident by {:.1} points on average",
                -reliability.overconfidence * 100.0
            )
        },
        reliability.readings
    );
    for line in reliability.table() {
        println!("{line}");
    }
    if evaluation.folds > 0 {
        println!(
            "training           {:.3}s per fold",
            evaluation.mean_training_seconds
        );
    }
    println!(
        "\n{:<24} {:>9} {:>7} {:>6} {:>8}",
        "intent", "precision", "recall", "F1", "examples"
    );
    for c in &evaluation.per_class {
        println!(
            "{:<24} {:>8.1}% {:>6.1}% {:>5.1}% {:>8}",
            c.class,
            c.precision * 100.0,
            c.recall * 100.0,
            c.f1 * 100.0,
            c.support
        );
    }
    if !evaluation.confused_pairs.is_empty() {
        println!("\nmost confused (expected → predicted):");
        for (expected, predicted, n) in evaluation.confused_pairs.iter().take(5) {
            println!("  {expected} → {predicted}: {n}");
        }
        println!("\nmisclassified:");
        const SHOWN: usize = 30;
        for miss in evaluation.misses.iter().take(SHOWN) {
            println!(
                "  {:?}: {} → {} ({:.2})",
                miss.text, miss.expected, miss.predicted, miss.confidence
            );
        }
        if evaluation.misses.len() > SHOWN {
            println!(
                "  … and {} more (all of them in --json)",
                evaluation.misses.len() - SHOWN
            );
        }
    }
}
