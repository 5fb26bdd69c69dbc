//! `doctor`: the flags of the run it checks, as `run` spells them.

use std::path::PathBuf;

use clap::Args;

use super::number::int;
use super::parse::parse_engine_arg;
use crate::config::DoctorConfig;
use crate::engine::HttpOptions;
use crate::error::Error;

#[derive(Args, Debug)]
pub struct DoctorArgs {
    /// Engine to check.
    #[arg(long)]
    pub engine: String,
    /// The run's model folder (vllm, hf, trtllm-pytorch) or engine directory (trtllm).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The run's tensor-parallel size.
    #[arg(long, default_value_t = 1, value_parser = int(1u32, 1024))]
    pub tp: u32,
    /// Engine setting, repeatable, as for `run`.
    #[arg(long = "engine-arg", value_name = "KEY=VALUE")]
    pub engine_args: Vec<String>,
    /// Python interpreter of the engine's environment (default: the active virtualenv).
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// Tokenizer / Hugging Face model folder (where trtllm finds the end token).
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// The run ignores end-of-sequence: no end token is needed.
    #[arg(long)]
    pub ignore_eos: bool,
    /// HTTP engines: the server.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

impl DoctorArgs {
    pub fn into_config(self) -> Result<DoctorConfig, Error> {
        Ok(DoctorConfig {
            engine: self.engine,
            model: self.model,
            tensor_parallel_size: self.tp,
            engine_args: self
                .engine_args
                .iter()
                .map(|a| parse_engine_arg(a))
                .collect::<Result<_, _>>()?,
            python: self.python,
            tokenizer: self.tokenizer,
            ignore_eos: self.ignore_eos,
            base_url: self
                .base_url
                .map(|u| u.trim_end_matches('/').to_string())
                .unwrap_or_else(|| HttpOptions::default().base_url),
        })
    }
}
