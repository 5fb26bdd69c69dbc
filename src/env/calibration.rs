//! `env --calibrate`: the GPU's device-to-device copy bandwidth and bf16
//! matmul rate, measured with CUDA events, for `--gpu-bandwidth` and
//! `--gpu-flops` when the datasheet figures are not what the machine reaches.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaStream};
use serde::Serialize;

use super::gpu::probe;

/// What `env --calibrate` measured on one GPU.
#[derive(Clone, Debug, Serialize)]
pub struct Calibration {
    pub gpu: String,
    /// Device-to-device copy: bytes read plus bytes written, per second.
    pub copy_bandwidth_bytes_per_s: f64,
    /// A large bf16 matrix multiply through cuBLAS, when cuBLAS loads.
    pub matmul_bf16_flops: Option<f64>,
    pub matmul_note: Option<String>,
}

/// Bytes copied per repetition: large enough to leave every cache behind.
const COPY_BYTES: usize = 1 << 30;
const COPY_REPEATS: usize = 20;
/// Square matrices of this size: large enough to reach peak on current GPUs.
const MATMUL_N: usize = 8192;
const MATMUL_REPEATS: usize = 10;

/// Measures GPU `index`; `Err` says why it could not (no driver, no GPU).
pub fn calibrate(index: usize) -> Result<Calibration, String> {
    let found = probe();
    let Some(gpu) = found.gpus.get(index) else {
        return Err(found.note.unwrap_or_else(|| format!("no GPU {index}")));
    };
    let name = gpu.name.clone();
    match catch_unwind(AssertUnwindSafe(|| measure(index, name))) {
        Ok(result) => result,
        Err(_) => Err("the CUDA driver failed during calibration".into()),
    }
}

fn measure(index: usize, gpu: String) -> Result<Calibration, String> {
    let text = |e: cudarc::driver::DriverError| e.to_string();
    let ctx = CudaContext::new(index).map_err(text)?;
    let stream = ctx.default_stream();
    let src = stream.alloc_zeros::<u8>(COPY_BYTES).map_err(text)?;
    let mut dst = stream.alloc_zeros::<u8>(COPY_BYTES).map_err(text)?;
    stream.memcpy_dtod(&src, &mut dst).map_err(text)?; // warm-up
    let seconds = timed(&ctx, &stream, || {
        for _ in 0..COPY_REPEATS {
            stream.memcpy_dtod(&src, &mut dst).map_err(text)?;
        }
        Ok(())
    })?;
    let copied = 2.0 * COPY_BYTES as f64 * COPY_REPEATS as f64;
    drop((src, dst));
    let (matmul_bf16_flops, matmul_note) = match matmul(&ctx, &stream) {
        Ok(flops) => (Some(flops), None),
        Err(why) => (None, Some(why)),
    };
    Ok(Calibration {
        gpu,
        copy_bandwidth_bytes_per_s: copied / seconds,
        matmul_bf16_flops,
        matmul_note,
    })
}

/// Seconds `work` takes on the GPU, between two CUDA events.
fn timed(
    ctx: &Arc<CudaContext>,
    stream: &Arc<CudaStream>,
    work: impl FnOnce() -> Result<(), String>,
) -> Result<f64, String> {
    let text = |e: cudarc::driver::DriverError| e.to_string();
    let flags = Some(cudarc::driver::sys::CUevent_flags::CU_EVENT_DEFAULT);
    let start = ctx.new_event(flags).map_err(text)?;
    let end = ctx.new_event(flags).map_err(text)?;
    start.record(stream).map_err(text)?;
    work()?;
    end.record(stream).map_err(text)?;
    Ok(f64::from(start.elapsed_ms(&end).map_err(text)?) / 1e3)
}

fn matmul(ctx: &Arc<CudaContext>, stream: &Arc<CudaStream>) -> Result<f64, String> {
    use cudarc::cublas::{sys::cublasOperation_t as Op, CudaBlas, Gemm, GemmConfig};
    use half::bf16;
    // SAFETY: only tries to open the library.
    if !unsafe { cudarc::cublas::sys::is_culib_present() } {
        return Err("cuBLAS not found: matmul skipped".into());
    }
    let text = |e: cudarc::driver::DriverError| e.to_string();
    let blas = CudaBlas::new(stream.clone()).map_err(|e| e.to_string())?;
    let n = MATMUL_N;
    // Non-zero values: multiplying zeros draws less power, so clocks (and the
    // figure) would come out higher than in real work.
    let values: Vec<bf16> = (0..n * n)
        .map(|i| bf16::from_f32(((i % 251) as f32 - 125.0) / 125.0))
        .collect();
    let a = stream.clone_htod(&values).map_err(text)?;
    let b = stream.clone_htod(&values).map_err(text)?;
    let mut c = stream.alloc_zeros::<bf16>(n * n).map_err(text)?;
    let cfg = GemmConfig {
        transa: Op::CUBLAS_OP_N,
        transb: Op::CUBLAS_OP_N,
        m: n as i32,
        n: n as i32,
        k: n as i32,
        alpha: bf16::ONE,
        lda: n as i32,
        ldb: n as i32,
        beta: bf16::ZERO,
        ldc: n as i32,
    };
    let mut run = || {
        // SAFETY: a, b and c hold n x n elements, as cfg says.
        unsafe { blas.gemm(cfg, &a, &b, &mut c) }.map_err(|e| e.to_string())
    };
    run()?; // warm-up: picks the kernel
    let seconds = timed(ctx, stream, || {
        for _ in 0..MATMUL_REPEATS {
            run()?;
        }
        Ok(())
    })?;
    let flops = 2.0 * (n as f64).powi(3) * MATMUL_REPEATS as f64;
    Ok(flops / seconds)
}
