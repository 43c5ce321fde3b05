//! Fine-tuning the encoder on the intent examples (`opsbot train --fine-tune`):
//! the sentence embedding, scaled, feeds a linear softmax head, and cross-entropy
//! trains the head and every transformer weight with AdamW. The tuned weights are
//! saved as a new encoder folder; the intent classifier is then trained on its
//! embeddings as usual. Minutes instead of seconds, for better accuracy.

use std::path::Path;

use sha2::{Digest, Sha256};
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Tensor};

use crate::minilm::mean_pool_normalised;
use crate::{EncoderError, MiniLm};

#[derive(Debug, Clone)]
pub struct FineTuneConfig {
    pub epochs: usize,
    pub batch: usize,
    /// AdamW learning rate of the transformer's weights.
    pub learning_rate: f64,
    /// AdamW learning rate of the softmax head (starts from zero, so larger).
    pub head_learning_rate: f64,
    /// Unit-length embeddings are scaled by this before the head (a cosine
    /// classifier needs a temperature to reach confident probabilities).
    pub scale: f64,
    pub seed: u64,
}

impl Default for FineTuneConfig {
    fn default() -> Self {
        FineTuneConfig {
            epochs: 3,
            batch: 32,
            learning_rate: 8e-5,
            head_learning_rate: 5e-3,
            scale: 20.0,
            seed: 42,
        }
    }
}

/// What fine-tuning did.
#[derive(Debug, Clone)]
pub struct FineTuneReport {
    pub steps: usize,
    /// Mean training loss of the first and of the last epoch.
    pub first_epoch_loss: f64,
    pub last_epoch_loss: f64,
}

fn shuffle(order: &mut [usize], state: &mut u64) {
    // xorshift: enough to vary batches deterministically, no extra dependency.
    for i in (1..order.len()).rev() {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        order.swap(i, (*state % (i as u64 + 1)) as usize);
    }
}

impl MiniLm {
    /// Trains the encoder's weights in place on `texts` labelled with class
    /// indices below `classes`. `progress(step, total)` after each batch.
    pub fn fine_tune(
        &self,
        texts: &[&str],
        labels: &[usize],
        classes: usize,
        config: &FineTuneConfig,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<FineTuneReport, EncoderError> {
        let failed = |e: tch::TchError| EncoderError::Encode(e.to_string());
        if texts.len() != labels.len() || texts.is_empty() || classes < 2 {
            return Err(EncoderError::Encode(
                "fine-tuning needs labelled examples of at least two intents".into(),
            ));
        }
        let network = self
            .network
            .lock()
            .map_err(|_| EncoderError::Encode("encoder lock poisoned".into()))?;
        let head_vars = nn::VarStore::new(Device::Cpu);
        let head = nn::linear(
            head_vars.root() / "head",
            self.dimension() as i64,
            classes as i64,
            Default::default(),
        );
        let mut optimizer = nn::AdamW::default()
            .build(&network.vars, config.learning_rate)
            .map_err(failed)?;
        let mut head_optimizer = nn::AdamW::default()
            .wd(0.0)
            .build(&head_vars, config.head_learning_rate)
            .map_err(failed)?;
        let batch = config.batch.max(1);
        let per_epoch = texts.len().div_ceil(batch);
        let total = per_epoch * config.epochs.max(1);
        let mut order: Vec<usize> = (0..texts.len()).collect();
        let mut state = config.seed | 1;
        let mut step = 0;
        let mut epoch_losses = Vec::new();
        for _ in 0..config.epochs.max(1) {
            shuffle(&mut order, &mut state);
            let mut loss_sum = 0.0;
            for chunk in order.chunks(batch) {
                let batch_texts: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
                let targets: Vec<i64> = chunk.iter().map(|&i| labels[i] as i64).collect();
                let (ids, mask) = self.batch_tensors(&batch_texts)?;
                let output = network
                    .model
                    .forward_t(Some(&ids), Some(&mask), None, None, None, None, None, true)
                    .map_err(|e| EncoderError::Encode(e.to_string()))?;
                let pooled = mean_pool_normalised(&output.hidden_state, &mask) * config.scale;
                let logits = head.forward(&pooled);
                let loss = logits.cross_entropy_for_logits(&Tensor::of_slice(&targets));
                optimizer.zero_grad();
                head_optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                head_optimizer.step();
                loss_sum += f64::from(&loss.to_kind(Kind::Double));
                step += 1;
                progress(step, total);
            }
            epoch_losses.push(loss_sum / per_epoch as f64);
        }
        Ok(FineTuneReport {
            steps: step,
            first_epoch_loss: epoch_losses.first().copied().unwrap_or_default(),
            last_epoch_loss: epoch_losses.last().copied().unwrap_or_default(),
        })
    }

    /// Writes the (fine-tuned) weights as a loadable encoder folder: the
    /// configuration and tokenizer copied from `source`, the weights in
    /// safetensors. Written beside `target` and renamed into place.
    pub fn save(&self, source: &Path, target: &Path) -> Result<(), EncoderError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| EncoderError::Io { path, source }
        };
        let partial = target.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).map_err(io(&partial))?;
        for file in ["config.json", "tokenizer.json"] {
            std::fs::copy(source.join(file), partial.join(file)).map_err(io(&source.join(file)))?;
        }
        let network = self
            .network
            .lock()
            .map_err(|_| EncoderError::Encode("encoder lock poisoned".into()))?;
        let mut variables: Vec<(String, Tensor)> = network.vars.variables().into_iter().collect();
        variables.sort_by(|a, b| a.0.cmp(&b.0));
        let buffers: Vec<(String, Vec<usize>, Vec<u8>)> = variables
            .iter()
            .map(|(name, tensor)| {
                let shape: Vec<usize> = tensor.size().iter().map(|&d| d as usize).collect();
                let values: Vec<f32> = Vec::from(&tensor.contiguous().view([-1]));
                let bytes = values.iter().flat_map(|v| v.to_le_bytes()).collect();
                (name.clone(), shape, bytes)
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = buffers
            .iter()
            .map(|(name, shape, bytes)| {
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), bytes)
                    .map(|view| (name.clone(), view))
                    .map_err(|e| EncoderError::Encode(e.to_string()))
            })
            .collect::<Result<_, _>>()?;
        let bytes = safetensors::serialize(views, &None)
            .map_err(|e| EncoderError::Encode(e.to_string()))?;
        let weights = partial.join("model.safetensors");
        std::fs::write(&weights, &bytes).map_err(io(&weights))?;
        tracing::info!(
            weights = &hex::encode(Sha256::digest(&bytes))[..16],
            "fine-tuned encoder saved"
        );
        let _ = std::fs::remove_dir_all(target);
        std::fs::rename(&partial, target).map_err(io(target))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn fine_tuning_lowers_the_loss_and_saves_a_loadable_encoder() {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(crate::MODEL_DIR);
        let encoder = MiniLm::load(&source).expect("run `make models` first");
        let texts = [
            "restart apache",
            "bounce nginx on web-01",
            "please restart the redis service",
            "deploy shop 1.2 to staging",
            "ship billing 3.0 to production",
            "roll out checkout 2.4.1",
        ];
        let labels = [0, 0, 0, 1, 1, 1];
        let config = FineTuneConfig {
            epochs: 4,
            batch: 3,
            ..FineTuneConfig::default()
        };
        let report = encoder
            .fine_tune(&texts, &labels, 2, &config, |_, _| {})
            .unwrap();
        assert_eq!(report.steps, 8);
        assert!(
            report.last_epoch_loss < report.first_epoch_loss,
            "{report:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("tuned");
        encoder.save(&source, &target).unwrap();
        let tuned = MiniLm::load(&target).unwrap();
        assert_ne!(tuned.id(), MiniLm::load(&source).unwrap().id());
        let a = tuned.encode(&["restart apache"]).unwrap();
        let b = encoder.encode(&["restart apache"]).unwrap();
        let same: f32 = a[0].iter().zip(&b[0]).map(|(x, y)| x * y).sum();
        assert!(
            same > 0.9999,
            "the saved weights are the tuned ones: {same}"
        );
    }
}
