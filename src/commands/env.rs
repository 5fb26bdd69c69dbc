//! `enginebench env`: the machine, as every result file records it, and
//! `--calibrate` to measure the GPU's bandwidth and bf16 matmul rate.

use crate::config::EnvConfig;
use crate::env::{calibration, Environment};
use crate::error::Error;

/// Exit 0; with `--calibrate` and no usable GPU, exit 1 after printing the
/// environment, since nothing could be measured.
pub fn run(config: &EnvConfig) -> Result<(), Error> {
    let environment = Environment::detect(config.python.as_deref());
    let calibration = config
        .calibrate
        .then(|| calibration::calibrate(config.device));
    if config.json {
        let mut out = serde_json::json!(environment);
        if let Some(result) = &calibration {
            out["calibration"] = match result {
                Ok(c) => serde_json::json!(c),
                Err(why) => serde_json::json!({ "error": why }),
            };
        }
        println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    } else {
        print!("{}", environment.text());
        if let Some(Ok(c)) = &calibration {
            println!("Calibration of GPU {} ({}):", config.device, c.gpu);
            println!(
                "  device-to-device copy: {:.0} GB/s (read + write)",
                c.copy_bandwidth_bytes_per_s / 1e9
            );
            match (c.matmul_bf16_flops, &c.matmul_note) {
                (Some(flops), _) => println!("  bf16 matmul: {:.0} TFLOP/s", flops / 1e12),
                (None, Some(note)) => println!("  bf16 matmul: {note}"),
                (None, None) => {}
            }
            println!(
                "  use: --gpu-bandwidth {:.0} --gpu-flops {}",
                c.copy_bandwidth_bytes_per_s / 1e9,
                c.matmul_bf16_flops
                    .map_or("<datasheet>".into(), |f| format!("{:.0}", f / 1e12))
            );
        }
    }
    match calibration {
        Some(Err(why)) => Err(Error::Calibration(why)),
        _ => Ok(()),
    }
}
