//! `opsbot train`: training with progress bars, the guard against a bad model, and the summary.

use super::*;

pub(super) fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:30}] {pos}/{len}")
            .expect("static template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

pub(super) fn train(paths: &Paths, args: &TrainArgs) -> Result<()> {
    let started = Instant::now();
    let project = app::load_project(paths)?;
    let config = nlu_config(&project);
    if args.if_stale && !paths.model().exists() {
        println!(
            "training: there is no model at {} yet",
            paths.model().display()
        );
    } else if args.if_stale {
        match app::load_nlu(&project, paths) {
            Ok(nlu) if nlu.model().meta.config == config => {
                println!("the model at {} is up to date", paths.model().display());
                return Ok(());
            }
            Ok(_) => println!(
                "training: the model was trained with other settings (threshold_target in opsbot.yaml, or another opsbot)"
            ),
            Err(why) => println!("training: {why:#}"),
        }
    }
    let data = TrainingData::from_project(&project);
    if args.fine_tune && !project.settings.use_encoder {
        bail!("--fine-tune needs the sentence encoder, but opsbot.yaml says `encoder: none`");
    }
    let mut encoder = if project.settings.use_encoder {
        Some(app::load_encoder(paths, training_threads())?)
    } else {
        None
    };
    let mut encoder_dir = opsbot_encoder::MODEL_DIR
        .trim_start_matches("models/")
        .to_string();
    if let (true, Some(base)) = (args.fine_tune, &encoder) {
        let classes = data.classes();
        let labels: Vec<usize> = data
            .labels
            .iter()
            .map(|l| classes.binary_search(l).expect("label among classes"))
            .collect();
        let texts: Vec<&str> = data.texts.iter().map(String::as_str).collect();
        let tune = opsbot_encoder::FineTuneConfig {
            epochs: args.fine_tune_epochs,
            ..Default::default()
        };
        let mut steps: Option<ProgressBar> = None;
        let report = base.fine_tune(&texts, &labels, classes.len(), &tune, |done, total| {
            steps
                .get_or_insert_with(|| bar(total as u64, "fine-tune"))
                .set_position(done as u64)
        })?;
        if let Some(bar) = steps {
            bar.finish_and_clear();
        }
        println!(
            "fine-tuned the encoder: {} steps, loss {:.3} → {:.3}",
            report.steps, report.first_epoch_loss, report.last_epoch_loss
        );
        base.save(&paths.encoder(), &paths.fine_tuned_encoder())?;
        encoder = Some(opsbot_encoder::MiniLm::load(&paths.fine_tuned_encoder())?);
        encoder_dir = app::FINE_TUNED_DIR.to_string();
    }
    let cached = encoder
        .as_ref()
        .map(|e| CachedEncoder::new(e, EmbeddingCache::open(&paths.embedding_cache())));
    // After a small edit of a large project, training starts from the model
    // trained last time (`--full` trains from zero).
    let previous = match args.full || args.fine_tune {
        true => None,
        false => opsbot_nlu::IntentModel::load(&paths.model()).ok(),
    };
    let model = opsbot_nlu::train(
        &data,
        &EntityExtractor::new(&project),
        &config,
        &project.training_hash,
        TrainOptions {
            encoder: cached.as_ref().map(|c| c as &dyn SentenceEncoder),
            validation: None,
            previous: previous.as_ref(),
        },
        progress_bars(),
    )?;
    let mut model = model;
    if model.meta.encoder.is_some() {
        model.meta.encoder_dir = Some(encoder_dir);
    }
    if let Err(reason) = model.check() {
        bail!("the trained model is unusable ({reason}); the embedding cache at {} may be damaged: delete it and train again. The old model was kept", paths.embedding_cache().display());
    }
    let previous = opsbot_nlu::IntentModel::load_meta(&paths.model()).ok();
    if let (Some(why), false) = (
        crate::train_guard::collapse(previous.as_ref(), &model.meta),
        args.force,
    ) {
        bail!("{why}");
    }
    let mut words: Option<ProgressBar> = None;
    let tagger = opsbot_nlu::train_for_project(
        &project,
        cached.as_ref().map(|c| c as &dyn SentenceEncoder),
        |done, total| {
            let bar = words.get_or_insert_with(|| bar(total as u64, "word vectors"));
            bar.set_position(done as u64);
            if done >= total {
                bar.finish_and_clear();
            }
        },
    )?;
    // The tagger first: a running bot reloads when the intent model changes,
    // and must then find the tagger of the same data.
    let tagger_path = paths.tagger();
    match &tagger {
        Some(tagger) => tagger.save(&tagger_path)?,
        None if tagger_path.exists() => std::fs::remove_file(&tagger_path)
            .with_context(|| format!("removing the old {}", tagger_path.display()))?,
        None => {}
    }
    let path = paths.model();
    model.save(&path)?;
    print_training_summary(&model, started.elapsed().as_secs_f64(), &path);
    match &tagger {
        Some(tagger) => println!(
            "  slot tagger for {} → {}",
            opsbot_spec::join_or(
                &tagger
                    .entities()
                    .iter()
                    .map(String::as_str)
                    .collect::<Vec<_>>()
            ),
            tagger_path.display()
        ),
        None => println!("  no annotated examples, so no slot tagger"),
    }
    Ok(())
}

/// The training configuration: opsbot's defaults with the project's stated
/// threshold target.
pub(super) fn nlu_config(project: &opsbot_spec::Project) -> NluConfig {
    NluConfig {
        threshold_target: project.settings.threshold_target,
        ..NluConfig::default()
    }
}

/// Threads for encoding training data: all cores (batches gain from them).
pub(super) fn training_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Progress bars for encoding and epochs, drawn only on a terminal.
pub(super) fn progress_bars() -> impl FnMut(TrainProgress) {
    let mut encoding: Option<ProgressBar> = None;
    let mut epochs: Option<ProgressBar> = None;
    move |p| match p {
        TrainProgress::Encoding { done, total } => {
            let bar = encoding.get_or_insert_with(|| bar(total as u64, "encoding"));
            bar.set_position(done as u64);
            if done >= total {
                bar.finish_and_clear();
            }
        }
        TrainProgress::Epoch { done, total } => {
            let bar = epochs.get_or_insert_with(|| bar(total as u64, "epochs"));
            if bar.length() != Some(total as u64) {
                bar.set_length(total as u64);
            }
            bar.set_position(done as u64);
        }
    }
}

pub(super) fn print_training_summary(model: &IntentModel, seconds: f64, path: &Path) {
    let meta = &model.meta;
    let metrics = &meta.metrics;
    println!(
        "trained on {} examples of {} intents{} in {:.2}s → {}",
        meta.examples,
        meta.intents,
        if model.classes.iter().any(|c| c == opsbot_spec::OUT_OF_SCOPE) {
            " and out of scope"
        } else {
            ""
        },
        seconds,
        path.display()
    );
    let embedded = match meta.encoder {
        Some(_) => format!(
            "; {} sentences embedded, {} of them by the encoder and {} from the cache",
            metrics.embedded,
            metrics.encoded,
            metrics.embedded.saturating_sub(metrics.encoded)
        ),
        None => String::new(),
    };
    println!(
        "  features: {} n-grams{}{embedded}",
        model.featurizer.dimension(),
        meta.encoder
            .as_ref()
            .map(|e| format!(" + {e} embedding"))
            .unwrap_or_default(),
    );
    if let Some(prototypes) = &model.prototypes {
        println!(
            "  class prototypes weighted {:.0} beside the linear classifier",
            prototypes.weight
        );
    }
    if let Some(neighbours) = &model.neighbours {
        println!(
            "  nearest of {} examples weighted {:.0} beside the linear classifier",
            neighbours.examples(),
            neighbours.weight
        );
    }
    if metrics.validation_examples > 0 {
        println!(
            "  {} readings of examples not trained on ({}): in-scope accuracy {:.1}%{}; best epoch {} of {}",
            metrics.validation_examples,
            metrics.method,
            metrics.in_scope_accuracy * 100.0,
            metrics
                .out_of_scope_recall
                .map(|r| format!(", out-of-scope recall {:.1}%", r * 100.0))
                .unwrap_or_default(),
            metrics.best_epoch,
            metrics.epochs_run,
        );
        println!(
            "  calibration error {:.1}%; the threshold refuses {:.1}% of the readings it got right",
            metrics.reliability.ece * 100.0,
            metrics.refused_right * 100.0
        );
        if let Some(from) = meta.calibration.ask_from {
            println!(
                "  from {from:.2} up to the threshold \"did you mean …?\" is asked instead: it offers {:.1}% of the readings it got right, the right intent in {:.0}% of its questions",
                metrics.asked_right * 100.0,
                metrics.questions_right * 100.0
            );
        }
    }
    println!(
        "  out-of-scope threshold {:.2} ({}), temperature {:.2}",
        meta.calibration.threshold, meta.calibration.threshold_rule, meta.calibration.temperature
    );
}
