//! GPUs through the CUDA driver, loaded at run time (cudarc's dynamic loading),
//! so the binary starts on machines without CUDA and says so instead of failing.

use cudarc::driver::sys::CUdevice_attribute as Attribute;
use cudarc::driver::CudaContext;
use serde::{Deserialize, Serialize};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// What `env` and the result files say when there is no driver.
pub const NO_DRIVER: &str = "no CUDA driver found (libcuda.so could not be loaded)";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GpuInfo {
    pub index: usize,
    pub name: String,
    pub memory_gib: f64,
    pub compute_capability: String,
    pub sm_clock_mhz: Option<u32>,
    pub memory_clock_mhz: Option<u32>,
    pub memory_bus_width_bits: Option<u32>,
}

/// The GPUs found, or why none were.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct GpuProbe {
    pub gpus: Vec<GpuInfo>,
    /// The CUDA version the driver supports, e.g. "12.8".
    pub cuda_driver_version: Option<String>,
    /// The kernel module's version line, from /proc/driver/nvidia/version.
    pub nvidia_driver: Option<String>,
    pub note: Option<String>,
}

/// Looks for GPUs; never panics, whatever the machine has.
pub fn probe() -> GpuProbe {
    let nvidia_driver = std::fs::read_to_string("/proc/driver/nvidia/version")
        .ok()
        .and_then(|text| text.lines().next().map(|l| l.trim().to_string()));
    // SAFETY: only tries to open the library; nothing is called through it.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return GpuProbe {
            nvidia_driver,
            note: Some(NO_DRIVER.into()),
            ..GpuProbe::default()
        };
    }
    // cudarc panics when a symbol is missing (a driver older than its bindings).
    match catch_unwind(AssertUnwindSafe(probe_driver)) {
        Ok(Ok(mut found)) => {
            found.nvidia_driver = nvidia_driver;
            found
        }
        Ok(Err(e)) => GpuProbe {
            nvidia_driver,
            note: Some(format!("CUDA driver found, but: {e}")),
            ..GpuProbe::default()
        },
        Err(_) => GpuProbe {
            nvidia_driver,
            note: Some("CUDA driver found, but too old for this build's bindings".into()),
            ..GpuProbe::default()
        },
    }
}

fn probe_driver() -> Result<GpuProbe, String> {
    cudarc::driver::result::init().map_err(|e| e.to_string())?;
    let mut version = 0;
    // SAFETY: writes one int.
    unsafe { cudarc::driver::sys::cuDriverGetVersion(&mut version) }
        .result()
        .map_err(|e| e.to_string())?;
    let count = CudaContext::device_count().map_err(|e| e.to_string())?;
    let gpus = (0..count.max(0) as usize)
        .map(describe)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(GpuProbe {
        note: gpus
            .is_empty()
            .then(|| "CUDA driver found, but no GPU".into()),
        gpus,
        cuda_driver_version: Some(format!("{}.{}", version / 1000, version % 1000 / 10)),
        nvidia_driver: None,
    })
}

fn describe(index: usize) -> Result<GpuInfo, String> {
    let ctx = CudaContext::new(index).map_err(|e| e.to_string())?;
    let text = |e: cudarc::driver::DriverError| e.to_string();
    let (major, minor) = ctx.compute_capability().map_err(text)?;
    // Clocks are reported in kHz.
    let mhz = |a: Attribute| ctx.attribute(a).ok().map(|khz| (khz / 1000) as u32);
    Ok(GpuInfo {
        index,
        name: ctx.name().map_err(text)?,
        memory_gib: ctx.total_mem().map_err(text)? as f64 / (1u64 << 30) as f64,
        compute_capability: format!("{major}.{minor}"),
        sm_clock_mhz: mhz(Attribute::CU_DEVICE_ATTRIBUTE_CLOCK_RATE),
        memory_clock_mhz: mhz(Attribute::CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE),
        memory_bus_width_bits: ctx
            .attribute(Attribute::CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH)
            .ok()
            .map(|b| b as u32),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probing_never_panics_and_explains_an_empty_answer() {
        let found = probe();
        if found.gpus.is_empty() {
            assert!(found.note.is_some(), "{found:?}");
        }
    }
}
