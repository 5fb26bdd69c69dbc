//! Speed of light: the fastest a run could go on its hardware, from the model's
//! shape alone. Decode is bound by memory: every step must read all weights and
//! the KV cache of every sequence in the batch, so
//! `TPOT floor = (weight bytes + KV bytes read) / memory bandwidth`.
//! Prefill is bound by compute: `TTFT floor = prefill FLOPs / peak FLOP/s`.
//! Achieved fractions (floor / measured) say how close an engine comes.

pub mod level;

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A Llama-shaped decoder, as its `config.json` describes it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelShape {
    pub hidden_size: u64,
    pub intermediate_size: u64,
    pub num_layers: u64,
    pub num_heads: u64,
    pub num_kv_heads: u64,
    pub head_dim: u64,
    pub vocab_size: u64,
    pub tie_word_embeddings: bool,
    pub bytes_per_param: u64,
}

impl ModelShape {
    /// Reads a Hugging Face `config.json` (Llama, Mistral, Qwen2 and alike).
    pub fn from_config_file(path: &Path) -> Result<ModelShape, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let config: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not valid JSON: {e}", path.display()))?;
        Self::from_config(&config).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_config(config: &serde_json::Value) -> Result<ModelShape, String> {
        let number = |key: &str| {
            config[key]
                .as_u64()
                .ok_or_else(|| format!("config has no integer '{key}'"))
        };
        let hidden_size = number("hidden_size")?;
        let num_heads = number("num_attention_heads")?;
        let dtype = config["dtype"].as_str().or(config["torch_dtype"].as_str());
        Ok(ModelShape {
            hidden_size,
            intermediate_size: number("intermediate_size")?,
            num_layers: number("num_hidden_layers")?,
            num_heads,
            num_kv_heads: number("num_key_value_heads").unwrap_or(num_heads),
            head_dim: number("head_dim").unwrap_or(hidden_size / num_heads.max(1)),
            vocab_size: number("vocab_size")?,
            tie_word_embeddings: config["tie_word_embeddings"].as_bool().unwrap_or(false),
            bytes_per_param: match dtype {
                Some("float32") => 4,
                Some("float8_e4m3fn") | Some("int8") => 1,
                _ => 2, // bfloat16 / float16
            },
        })
    }

    /// Parameters of one decoder layer: attention, gated MLP, two norms.
    fn layer_params(&self) -> u64 {
        let q_and_o = 2 * self.hidden_size * self.num_heads * self.head_dim;
        let k_and_v = 2 * self.hidden_size * self.num_kv_heads * self.head_dim;
        let mlp = 3 * self.hidden_size * self.intermediate_size;
        q_and_o + k_and_v + mlp + 2 * self.hidden_size
    }

    /// Every parameter: embeddings, layers, final norm, and the LM head unless tied.
    pub fn parameters(&self) -> u64 {
        let embedding = self.vocab_size * self.hidden_size;
        let head = if self.tie_word_embeddings {
            0
        } else {
            embedding
        };
        embedding + self.num_layers * self.layer_params() + self.hidden_size + head
    }

    /// Parameters multiplied in a forward pass per token: everything but the
    /// embedding lookup (the LM head multiplies, tied or not).
    fn matmul_parameters(&self) -> u64 {
        self.num_layers * self.layer_params() + self.vocab_size * self.hidden_size
    }

    /// Bytes every decode step reads for the weights.
    pub fn weight_bytes(&self) -> u64 {
        self.parameters() * self.bytes_per_param
    }

    /// KV-cache bytes per token of context: keys and values, every layer.
    pub fn kv_bytes_per_token(&self) -> u64 {
        2 * self.num_layers * self.num_kv_heads * self.head_dim * self.bytes_per_param
    }

    /// FLOPs to prefill one prompt of `tokens`: 2 per multiplied parameter per
    /// token, plus causal attention (QK^T and AV over half the square).
    pub fn prefill_flops(&self, tokens: u64) -> f64 {
        let matmul = 2.0 * self.matmul_parameters() as f64 * tokens as f64;
        let attention_width = (self.num_heads * self.head_dim) as f64;
        let attention = 2.0 * self.num_layers as f64 * (tokens as f64).powi(2) * attention_width;
        matmul + attention
    }
}

/// What bounds a GPU: memory bandwidth and dense bf16 compute.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuSpec {
    pub name: String,
    pub memory_bandwidth_bytes_per_s: f64,
    pub peak_bf16_flops: f64,
}

/// Built-in GPUs: `(name, HBM/GDDR bandwidth in TB/s, dense bf16 TFLOP/s)`,
/// vendor datasheet figures without sparsity. Override either with
/// `--gpu-bandwidth` / `--gpu-flops`, or measure with `env --calibrate`.
pub const GPUS: &[(&str, f64, f64)] = &[
    // NVIDIA H100 Tensor Core GPU datasheet: SXM5 3.35 TB/s, BF16 1,979 TFLOPS with sparsity.
    ("H100-SXM", 3.35, 989.0),
    // Same datasheet, PCIe: 2.0 TB/s, BF16 1,513 TFLOPS with sparsity.
    ("H100-PCIe", 2.0, 756.0),
    // NVIDIA H200 datasheet (SXM): 4.8 TB/s, BF16 1,979 TFLOPS with sparsity.
    ("H200", 4.8, 989.0),
    // NVIDIA A100 datasheet: 80 GB SXM 2,039 GB/s; 40 GB 1,555 GB/s; BF16 312 TFLOPS dense.
    ("A100-80GB", 2.039, 312.0),
    ("A100-40GB", 1.555, 312.0),
    // NVIDIA L40S datasheet: 864 GB/s, BF16 733 TFLOPS with sparsity.
    ("L40S", 0.864, 362.0),
    // NVIDIA L4 datasheet: 300 GB/s, BF16 242 TFLOPS with sparsity.
    ("L4", 0.3, 121.0),
    // NVIDIA publishes no A10G datasheet: 600 GB/s as AWS describes its G5
    // instances; 70 TFLOPS bf16 as commonly quoted for A10G. Override when known.
    ("A10G", 0.6, 70.0),
    // NVIDIA HGX B200 datasheet: 8 TB/s per GPU, FP16/BF16 4.5 PFLOPS per GPU with sparsity.
    ("B200", 8.0, 2250.0),
];

/// `"h100"`, `"H100 SXM"` and `"h100_sxm"` all name the H100 SXM.
fn normalize(name: &str) -> String {
    let lower = name.to_ascii_lowercase().replace([' ', '_'], "-");
    match lower.as_str() {
        "h100" => "h100-sxm".into(),
        "a100" => "a100-80gb".into(),
        _ => lower,
    }
}

/// A built-in GPU by name (case-insensitive), see [`GPUS`].
pub fn builtin_gpu(name: &str) -> Option<GpuSpec> {
    let wanted = normalize(name);
    let &(name, bandwidth_tb_s, tflops) = GPUS.iter().find(|g| normalize(g.0) == wanted)?;
    Some(GpuSpec {
        name: name.to_string(),
        memory_bandwidth_bytes_per_s: bandwidth_tb_s * 1e12,
        peak_bf16_flops: tflops * 1e12,
    })
}

/// The built-in entry for a name the CUDA driver reports, such as
/// "NVIDIA H100 80GB HBM3" or "NVIDIA A100-SXM4-40GB".
pub fn gpu_for_device(device_name: &str) -> Option<GpuSpec> {
    let name = device_name.to_ascii_lowercase();
    let words: Vec<&str> = name.split([' ', '-']).collect();
    let has = |w: &str| words.contains(&w);
    let entry = if has("h100") && name.contains("pcie") {
        "H100-PCIe"
    } else if has("h100") {
        "H100-SXM"
    } else if has("h200") {
        "H200"
    } else if has("a100") && name.contains("40gb") {
        "A100-40GB"
    } else if has("a100") {
        "A100-80GB"
    } else if has("l40s") {
        "L40S"
    } else if has("l4") {
        "L4"
    } else if has("a10g") {
        "A10G"
    } else if has("b200") {
        "B200"
    } else {
        return None;
    };
    builtin_gpu(entry)
}

/// Floors for one step or one prompt, in seconds.
pub struct Floors<'a> {
    pub model: &'a ModelShape,
    pub gpu: &'a GpuSpec,
    /// Tensor-parallel ranks share the bytes and the FLOPs.
    pub tensor_parallel_size: u32,
}

impl Floors<'_> {
    /// One decode step of `batch` sequences with `mean_context` tokens each in
    /// cache; a mean batch may be fractional.
    pub fn decode_step_s(&self, batch: f64, mean_context: f64) -> f64 {
        let kv = batch * mean_context * self.model.kv_bytes_per_token() as f64;
        let bytes = self.model.weight_bytes() as f64 + kv;
        bytes / (self.gpu.memory_bandwidth_bytes_per_s * f64::from(self.tensor_parallel_size))
    }

    /// Prefill of `prompts` prompts of `tokens` each.
    pub fn prefill_s(&self, prompts: u64, tokens: u64) -> f64 {
        let flops = prompts as f64 * self.model.prefill_flops(tokens);
        flops / (self.gpu.peak_bf16_flops * f64::from(self.tensor_parallel_size))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Llama-3-8B's published config.json.
    pub(crate) fn llama3_8b() -> ModelShape {
        ModelShape::from_config(&serde_json::json!({
            "hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "tie_word_embeddings": false, "torch_dtype": "bfloat16"
        }))
        .unwrap()
    }

    #[test]
    fn llama3_8b_parameters_and_bytes_by_hand() {
        let m = llama3_8b();
        // Per layer: q, o 4096x4096 each; k, v 4096x1024 each; MLP 3 x 4096x14336; 2 norms.
        // 33_554_432 + 8_388_608 + 176_160_768 + 8_192 = 218_112_000.
        assert_eq!(m.layer_params(), 218_112_000);
        // 2 x 128256 x 4096 (embedding + head) + 32 layers + final norm = 8.03 B.
        assert_eq!(m.parameters(), 1_050_673_152 + 6_979_584_000 + 4_096);
        assert_eq!(m.weight_bytes(), 16_060_522_496);
        // 2 (K, V) x 32 layers x 8 KV heads x 128 dims x 2 bytes.
        assert_eq!(m.kv_bytes_per_token(), 131_072);
    }

    #[test]
    fn decode_floor_on_an_h100_by_hand() {
        let m = llama3_8b();
        let gpu = builtin_gpu("H100").unwrap();
        let floors = Floors {
            model: &m,
            gpu: &gpu,
            tensor_parallel_size: 1,
        };
        // 16.06 GB / 3.35 TB/s = 4.794 ms for a lone sequence with an empty cache.
        assert!((floors.decode_step_s(1.0, 0.0) * 1e3 - 4.7942).abs() < 1e-3);
        // 64 sequences x 640 tokens x 128 KiB = 5.369 GB more: 6.397 ms.
        let with_kv = (16_060_522_496.0 + 64.0 * 640.0 * 131_072.0) / 3.35e12;
        assert!((floors.decode_step_s(64.0, 640.0) - with_kv).abs() < 1e-12);
        // Two ranks halve it.
        let tp2 = Floors {
            tensor_parallel_size: 2,
            ..floors
        };
        assert!((tp2.decode_step_s(1.0, 0.0) * 2.0 - floors.decode_step_s(1.0, 0.0)).abs() < 1e-12);
    }

    #[test]
    fn prefill_flops_by_hand() {
        let m = llama3_8b();
        // Multiplied parameters: 32 layers + LM head = 6_979_584_000 + 525_336_576.
        let matmul = 2.0 * 7_504_920_576.0 * 512.0;
        // Causal attention: 2 x 32 layers x 512^2 x 4096.
        let attention = 2.0 * 32.0 * 512.0_f64.powi(2) * 4096.0;
        assert_eq!(m.prefill_flops(512), matmul + attention);
        let gpu = builtin_gpu("h100").unwrap();
        let floors = Floors {
            model: &m,
            gpu: &gpu,
            tensor_parallel_size: 1,
        };
        // 7.6850 + 0.0687 = 7.7538 TFLOP: 7.840 ms at 989 TFLOP/s.
        assert!((floors.prefill_s(1, 512) * 1e3 - 7.840).abs() < 0.001);
    }

    #[test]
    fn tied_embeddings_and_missing_fields() {
        let tied = ModelShape::from_config(&serde_json::json!({
            "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
            "num_attention_heads": 2, "vocab_size": 10, "tie_word_embeddings": true
        }))
        .unwrap();
        assert_eq!((tied.num_kv_heads, tied.head_dim), (2, 4));
        // Embedding 80 + layer (2*8*8 + 2*8*8 + 3*8*16 + 16 = 656) + norm 8.
        assert_eq!(tied.parameters(), 80 + 656 + 8);
        let err = ModelShape::from_config(&serde_json::json!({"hidden_size": 8})).unwrap_err();
        assert!(err.contains("num_attention_heads"), "{err}");
        assert!(builtin_gpu("tpu").is_none());
    }

    #[test]
    fn gpu_names_from_flags_and_from_the_driver() {
        assert_eq!(builtin_gpu("h100 sxm").unwrap().name, "H100-SXM");
        assert_eq!(builtin_gpu("A100").unwrap().name, "A100-80GB");
        let from_driver = |n: &str| gpu_for_device(n).map(|g| g.name);
        assert_eq!(from_driver("NVIDIA H100 80GB HBM3").unwrap(), "H100-SXM");
        assert_eq!(from_driver("NVIDIA H100 PCIe").unwrap(), "H100-PCIe");
        assert_eq!(from_driver("NVIDIA A100-SXM4-40GB").unwrap(), "A100-40GB");
        assert_eq!(from_driver("NVIDIA L4").unwrap(), "L4");
        assert_eq!(from_driver("NVIDIA L40S").unwrap(), "L40S");
        assert!(from_driver("NVIDIA GeForce RTX 4090").is_none());
    }
}
