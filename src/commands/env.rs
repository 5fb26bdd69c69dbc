//! `enginebench env`: the machine, as every result file records it, and
//! `--calibrate` to measure the GPU's bandwidth and bf16 matmul rate.

use std::fmt::Write;

use serde::Serialize;

use super::print;
use crate::config::EnvConfig;
use crate::env::calibration::{self, Calibration};
use crate::env::Environment;
use crate::error::Error;

/// `env --json`: the environment, and the calibration or why there is none.
#[derive(Serialize)]
struct EnvDoc<'a> {
    #[serde(flatten)]
    environment: &'a Environment,
    #[serde(skip_serializing_if = "Option::is_none")]
    calibration: Option<CalibrationDoc<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum CalibrationDoc<'a> {
    Measured(&'a Calibration),
    Failed { error: &'a str },
}

/// Exit 0; with `--calibrate` and no usable GPU, exit 1 after printing the
/// environment, since nothing could be measured.
pub fn run(config: &EnvConfig) -> Result<(), Error> {
    let environment = Environment::detect(config.python.as_deref());
    let calibration = config
        .calibrate
        .then(|| calibration::calibrate(config.device));
    let text = match config.json {
        true => {
            let doc = EnvDoc {
                environment: &environment,
                calibration: calibration.as_ref().map(|result| match result {
                    Ok(c) => CalibrationDoc::Measured(c),
                    Err(why) => CalibrationDoc::Failed { error: why },
                }),
            };
            // Through a `Value`, whose maps keep keys sorted.
            let value = serde_json::to_value(doc).expect("the environment serializes");
            // Cannot fail: a serde_json::Value always serializes.
            serde_json::to_string_pretty(&value).expect("a value serializes") + "\n"
        }
        false => match &calibration {
            Some(Ok(c)) => environment.text() + &calibration_text(config.device, c),
            _ => environment.text(),
        },
    };
    print(&text);
    match calibration {
        Some(Err(why)) => Err(Error::Calibration(why)),
        _ => Ok(()),
    }
}

fn calibration_text(device: usize, c: &Calibration) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Calibration of GPU {device} ({}):", c.gpu);
    let _ = writeln!(
        out,
        "  device-to-device copy: {:.0} GB/s (read + write)",
        c.copy_bandwidth_bytes_per_s / 1e9
    );
    match (c.matmul_bf16_flops, &c.matmul_note) {
        (Some(flops), _) => {
            let _ = writeln!(out, "  bf16 matmul: {:.0} TFLOP/s", flops / 1e12);
        }
        (None, Some(note)) => {
            let _ = writeln!(out, "  bf16 matmul: {note}");
        }
        (None, None) => {}
    }
    let _ = writeln!(
        out,
        "  use: --gpu-bandwidth {:.0} --gpu-flops {}",
        c.copy_bandwidth_bytes_per_s / 1e9,
        c.matmul_bf16_flops
            .map_or("<datasheet>".into(), |f| format!("{:.0}", f / 1e12))
    );
    out
}
