//! The speed of light of one measured level, at the level's own batch and
//! lengths, and how close the measurement came to it.
//!
//! Definitions (also in the README):
//! - decode batch: the mean number of requests decoding at once, by Little's
//!   law: `completed x mean(E2EL - TTFT) / duration`, at least 1;
//! - mean context: mean prompt + half the mean output, the mean KV length of a
//!   sequence while it decodes;
//! - TPOT floor: one decode step of that batch, `(weight bytes + batch x
//!   context x KV bytes per token) / bandwidth`: every sequence gains one token
//!   per step, so a step is a TPOT;
//! - TTFT floor: prefill of one mean-length prompt alone at peak FLOP/s;
//! - utilisations: floor / measured mean. TTFT also holds queueing, so its
//!   fraction is a lower bound on the FLOP utilisation of prefill.
//! - `--tp N` divides bytes and FLOPs evenly over N GPUs and ignores their
//!   communication: the floor of a perfect split.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{builtin_gpu, gpu_for_device, Floors, GpuSpec, ModelShape, GPUS};
use crate::metrics::LevelSummary;

/// `--gpu`, `--gpu-bandwidth`, `--gpu-flops`, checked.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GpuOptions {
    pub gpu: Option<GpuSpec>,
    pub bandwidth_gb_s: Option<f64>,
    pub flops_tflops: Option<f64>,
}

impl GpuOptions {
    /// `Err` names the built-in GPUs when `name` is none of them.
    pub fn parse(
        name: Option<&str>,
        bandwidth_gb_s: Option<f64>,
        flops_tflops: Option<f64>,
    ) -> Result<Self, String> {
        let positive = |v: Option<f64>| v.is_none_or(|v| v.is_finite() && v > 0.0);
        if !positive(bandwidth_gb_s) || !positive(flops_tflops) {
            return Err("--gpu-bandwidth and --gpu-flops must be positive numbers".into());
        }
        let gpu = match name {
            Some(name) => Some(builtin_gpu(name).ok_or_else(|| {
                let known: Vec<&str> = GPUS.iter().map(|g| g.0).collect();
                format!("--gpu '{name}': unknown GPU (known: {})", known.join(", "))
            })?),
            None => None,
        };
        Ok(Self {
            gpu,
            bandwidth_gb_s,
            flops_tflops,
        })
    }
}

/// What a run's floors are computed for, or why they are not.
pub enum Setup {
    Ready(Target),
    Skipped(String),
}

pub struct Target {
    pub model: ModelShape,
    pub gpu: GpuSpec,
    /// Where the GPU figures came from: `--gpu`, the detected device, or the overrides.
    pub gpu_source: String,
    pub tensor_parallel_size: u32,
    pub simulated: bool,
}

impl Setup {
    /// The model's `config.json` and a GPU: `--gpu`, else the first detected
    /// GPU when it is a built-in one, else the two overrides alone.
    pub fn resolve(
        options: &GpuOptions,
        model: Option<&Path>,
        detected_gpus: &[String],
        tensor_parallel_size: u32,
        simulated: bool,
    ) -> Setup {
        let Some(config) = model.map(|m| m.join("config.json")).filter(|c| c.is_file()) else {
            return Setup::Skipped("no model config.json (pass --model DIR holding one)".into());
        };
        let model = match ModelShape::from_config_file(&config) {
            Ok(model) => model,
            Err(why) => return Setup::Skipped(why),
        };
        let detected = detected_gpus
            .first()
            .and_then(|name| gpu_for_device(name).map(|gpu| (gpu, format!("detected {name}"))));
        let chosen = match (&options.gpu, detected) {
            (Some(gpu), _) => Some((gpu.clone(), "--gpu".to_string())),
            (None, Some(found)) => Some(found),
            (None, None) => None,
        };
        let (mut gpu, mut source) = match (chosen, options.bandwidth_gb_s, options.flops_tflops) {
            (Some(chosen), _, _) => chosen,
            (None, Some(_), Some(_)) => (
                GpuSpec {
                    name: "custom".into(),
                    memory_bandwidth_bytes_per_s: 0.0,
                    peak_bf16_flops: 0.0,
                },
                String::new(),
            ),
            (None, _, _) => {
                return Setup::Skipped(
                    "unknown GPU (pass --gpu NAME, or --gpu-bandwidth and --gpu-flops)".into(),
                )
            }
        };
        if let Some(gb_s) = options.bandwidth_gb_s {
            gpu.memory_bandwidth_bytes_per_s = gb_s * 1e9;
            source += " --gpu-bandwidth";
        }
        if let Some(tflops) = options.flops_tflops {
            gpu.peak_bf16_flops = tflops * 1e12;
            source += " --gpu-flops";
        }
        Setup::Ready(Target {
            model,
            gpu,
            gpu_source: source.trim().to_string(),
            tensor_parallel_size,
            simulated,
        })
    }
}

/// The floors of one level and the fractions achieved.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LevelSpeedOfLight {
    pub gpu: GpuSpec,
    pub gpu_source: String,
    pub tensor_parallel_size: u32,
    pub model_parameters: u64,
    pub weight_bytes: u64,
    pub kv_bytes_per_token: u64,
    pub decode_batch: f64,
    pub mean_context_tokens: f64,
    pub tpot_floor_ms: f64,
    pub measured_mean_tpot_ms: f64,
    /// TPOT floor / measured mean TPOT.
    pub memory_bandwidth_utilisation: Option<f64>,
    pub mean_input_tokens: f64,
    pub ttft_floor_ms: f64,
    pub measured_mean_ttft_ms: f64,
    /// TTFT floor / measured mean TTFT (a lower bound: TTFT holds queueing too).
    pub flop_utilisation: Option<f64>,
    /// The measured times come from the sim engine's model, not a GPU.
    pub simulated: bool,
}

/// `None` when the level completed no request.
pub fn for_level(target: &Target, run: &LevelSummary) -> Option<LevelSpeedOfLight> {
    if run.completed == 0 {
        return None;
    }
    let completed = run.completed as f64;
    let mean_input = run.total_input_tokens as f64 / completed;
    let mean_output = run.total_output_tokens as f64 / completed;
    let decoding_s = completed * (run.e2el_ms.mean - run.ttft_ms.mean).max(0.0) / 1e3;
    let decode_batch = match run.duration_s > 0.0 {
        true => (decoding_s / run.duration_s).max(1.0),
        false => 1.0,
    };
    let mean_context = mean_input + mean_output / 2.0;
    let floors = Floors {
        model: &target.model,
        gpu: &target.gpu,
        tensor_parallel_size: target.tensor_parallel_size,
    };
    let tpot_floor_ms = floors.decode_step_s(decode_batch, mean_context) * 1e3;
    let ttft_floor_ms = floors.prefill_s(1, mean_input.round() as u64) * 1e3;
    let fraction = |floor: f64, measured: f64| (measured > 0.0).then(|| floor / measured);
    Some(LevelSpeedOfLight {
        gpu: target.gpu.clone(),
        gpu_source: target.gpu_source.clone(),
        tensor_parallel_size: target.tensor_parallel_size,
        model_parameters: target.model.parameters(),
        weight_bytes: target.model.weight_bytes(),
        kv_bytes_per_token: target.model.kv_bytes_per_token(),
        decode_batch,
        mean_context_tokens: mean_context,
        tpot_floor_ms,
        measured_mean_tpot_ms: run.tpot_ms.mean,
        memory_bandwidth_utilisation: fraction(tpot_floor_ms, run.tpot_ms.mean),
        mean_input_tokens: mean_input,
        ttft_floor_ms,
        measured_mean_ttft_ms: run.ttft_ms.mean,
        flop_utilisation: fraction(ttft_floor_ms, run.ttft_ms.mean),
        simulated: target.simulated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::speed_of_light::tests::llama3_8b;
    use crate::stats::Summary;

    fn summary(values: &[f64]) -> Summary {
        Summary::of(values, &[99.0])
    }

    /// 4 requests of 512 prompt and 129 output tokens: TTFT 10 ms, TPOT 8 ms,
    /// E2EL 10 + 128 x 8 = 1034 ms, over 2.048 s.
    fn run() -> LevelSummary {
        LevelSummary {
            issued: 0,
            completed: 4,
            failed: 0,
            cancelled: 0,
            total_input_tokens: 4 * 512,
            total_output_tokens: 4 * 129,
            duration_s: 2.048,
            request_throughput: 0.0,
            output_throughput: 0.0,
            total_token_throughput: 0.0,
            request_goodput: None,
            ttft_ms: summary(&[10.0; 4]),
            tpot_ms: summary(&[8.0; 4]),
            itl_ms: summary(&[8.0; 4]),
            e2el_ms: summary(&[1034.0; 4]),
            queue_delay_ms: summary(&[0.0; 4]),
            tokens_per_delivery: summary(&[1.0; 4]),
        }
    }

    #[test]
    fn llama3_8b_level_on_an_h100_by_hand() {
        let options = GpuOptions::parse(Some("H100-SXM"), None, None).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let config = serde_json::json!({
            "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "tie_word_embeddings": false, "torch_dtype": "bfloat16"
        });
        std::fs::write(dir.path().join("config.json"), config.to_string()).unwrap();
        let Setup::Ready(target) = Setup::resolve(&options, Some(dir.path()), &[], 1, false) else {
            panic!("a config and --gpu are enough");
        };
        assert_eq!(target.model, llama3_8b());
        let s = for_level(&target, &run()).unwrap();
        // Decoding: 4 x 1.024 s over 2.048 s = a batch of 2.0; context 512 + 129 / 2 = 576.5.
        assert!((s.decode_batch - 2.0).abs() < 1e-12);
        assert_eq!(s.mean_context_tokens, 576.5);
        // (16_060_522_496 + 2 x 576.5 x 131_072 = 16_211_648_512 bytes) / 3.35 TB/s = 4.8393 ms.
        assert!(
            (s.tpot_floor_ms - 4.839_298).abs() < 1e-5,
            "{}",
            s.tpot_floor_ms
        );
        // 4.8393 / 8 ms measured.
        assert!((s.memory_bandwidth_utilisation.unwrap() - 0.604_912).abs() < 1e-5);
        // Prefill of 512 tokens: 7.840 ms at 989 TFLOP/s (see prefill_flops_by_hand); / 10 ms.
        assert!((s.ttft_floor_ms - 7.840).abs() < 1e-3);
        assert!((s.flop_utilisation.unwrap() - 0.7840).abs() < 1e-4);
    }

    #[test]
    fn overrides_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let options = GpuOptions::parse(None, Some(1000.0), Some(100.0)).unwrap();
        assert!(matches!(
            Setup::resolve(&options, Some(dir.path()), &[], 1, false),
            Setup::Skipped(why) if why.contains("config.json")
        ));
        std::fs::write(dir.path().join("config.json"), llama_config_text()).unwrap();
        let Setup::Ready(t) = Setup::resolve(&options, Some(dir.path()), &[], 2, false) else {
            panic!("both overrides make a GPU");
        };
        assert_eq!(t.gpu.memory_bandwidth_bytes_per_s, 1e12);
        assert_eq!(t.gpu.peak_bf16_flops, 1e14);
        let none = GpuOptions::default();
        assert!(matches!(
            Setup::resolve(&none, Some(dir.path()), &["NVIDIA GeForce RTX 4090".into()], 1, false),
            Setup::Skipped(why) if why.contains("unknown GPU")
        ));
        let Setup::Ready(t) =
            Setup::resolve(&none, Some(dir.path()), &["NVIDIA H200".into()], 1, false)
        else {
            panic!("a detected built-in GPU is used");
        };
        assert_eq!(
            (t.gpu.name.as_str(), t.gpu_source.as_str()),
            ("H200", "detected NVIDIA H200")
        );
        assert!(GpuOptions::parse(Some("tpu"), None, None)
            .unwrap_err()
            .contains("H100-SXM"));
    }

    fn llama_config_text() -> String {
        serde_json::json!({
            "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
            "num_attention_heads": 4, "vocab_size": 1000
        })
        .to_string()
    }
}
