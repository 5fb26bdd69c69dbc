//! Engines that live in Python (vLLM, transformers, TensorRT-LLM's PyTorch
//! backend), driven in-process through pyo3.
//!
//! Each engine has one small Python driver in `python/enginebench/drivers/`,
//! all exposing the same calls: `Driver(model, tp, args, ignore_eos, settings)`
//! (`args`: the engine args passed through to the engine; `settings`: those
//! this crate interpreted, by name), `describe()`,
//! `submit(id, token_ids, max_tokens, ignore_eos, sampling)`, `poll(timeout_s)`,
//! `cancel(id)`, `reset_prefix_cache()`, `shutdown()`, and where the engine can,
//! `hand_over_answers()`, after which `poll` adds a fourth list: each finished
//! request's generated ids `(id, [ids])`. Rust owns the loop and
//! the clock; the GIL is held only inside those calls, so the engine's own
//! Python threads run while the driver waits or records.
//!
//! Error contract: a driver raises `ValueError` for a problem with one request
//! (it becomes [`EngineError::Rejected`]); any other exception is fatal.

mod interpreter;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::{
    Engine, EngineConfigError, EngineError, EngineInfo, EngineOptions, EngineRequest, Event,
    RequestId,
};

/// One Python driver: its module source and how users install the engine.
pub struct DriverSource {
    /// Engine name as on the command line.
    pub engine: &'static str,
    /// Module name the driver is registered under.
    pub module: &'static str,
    pub file_name: &'static str,
    pub code: &'static str,
    /// What to import to check the engine is installed, and how to install it.
    pub requires: &'static str,
    pub install_hint: &'static str,
}

/// What a driver's `poll` returns: deliveries `(id, new tokens, finished)`,
/// failures `(id, reason)` and engine statistics `(id, JSON text)`.
type Polled = (
    Vec<(RequestId, u32, bool)>,
    Vec<(RequestId, String)>,
    Vec<(RequestId, String)>,
);

/// The fourth list of a driver asked to hand over answers.
type Answers = Vec<(RequestId, Vec<u32>)>;

/// An engine whose work happens in a Python driver object.
pub struct PythonEngine {
    driver: Py<PyAny>,
    info: EngineInfo,
}

/// The engine args of one Python engine, split: what the driver passes on to
/// the engine unread, and the settings this crate took and checked.
#[derive(Clone, Debug, Default)]
pub struct DriverArgs {
    pub pass_through: Vec<(String, String)>,
    pub settings: Vec<(&'static str, String)>,
}

impl PythonEngine {
    pub fn open(
        source: &DriverSource,
        options: &EngineOptions,
        driver_args: DriverArgs,
    ) -> Result<Self, EngineConfigError> {
        interpreter::prepare(options.python.as_deref())?;
        Python::attach(|py| {
            check_installed(py, source)?;
            let module = load_driver(py, source).map_err(|e| config_error(py, source, e))?;
            let to_dict = |pairs: &mut dyn Iterator<Item = (&str, &str)>| {
                let dict = PyDict::new(py);
                for (key, value) in pairs {
                    dict.set_item(key, value)?;
                }
                Ok::<_, PyErr>(dict)
            };
            let args = to_dict(
                &mut driver_args
                    .pass_through
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .map_err(|e| config_error(py, source, e))?;
            let settings = to_dict(&mut driver_args.settings.iter().map(|(k, v)| (*k, v.as_str())))
                .map_err(|e| config_error(py, source, e))?;
            let model = options.model.as_ref().map(|m| m.display().to_string());
            let driver = module
                .getattr("Driver")
                .and_then(|class| {
                    class.call1((
                        model.clone(),
                        options.tensor_parallel_size,
                        args,
                        options.ignore_eos,
                        settings,
                    ))
                })
                .map_err(|e| config_error(py, source, e))?;
            let info =
                describe(&driver, source.engine, model).map_err(|e| config_error(py, source, e))?;
            Ok(Self {
                driver: driver.unbind(),
                info,
            })
        })
    }

    fn call<T>(
        &self,
        f: impl for<'py> FnOnce(Python<'py>, &Bound<'py, PyAny>) -> PyResult<T>,
    ) -> Result<T, EngineError> {
        Python::attach(|py| {
            f(py, self.driver.bind(py)).map_err(|e| {
                let message = one_line(py, &e);
                if e.is_instance_of::<PyValueError>(py) {
                    EngineError::Rejected(message)
                } else {
                    EngineError::Fatal(format!("{}: {message}", self.info.name))
                }
            })
        })
    }
}

impl Engine for PythonEngine {
    fn describe(&self) -> EngineInfo {
        self.info.clone()
    }

    fn submit(&mut self, request: EngineRequest) -> Result<(), EngineError> {
        self.call(|py, driver| {
            let sampling = PyDict::new(py);
            sampling.set_item("temperature", request.sampling.temperature)?;
            sampling.set_item("top_p", request.sampling.top_p)?;
            sampling.set_item("top_k", request.sampling.top_k)?;
            sampling.set_item("seed", request.sampling.seed)?;
            let ids = PyList::new(py, request.prompt_token_ids.iter())?;
            let args = (
                request.id,
                ids,
                request.max_output_tokens,
                request.ignore_eos,
                sampling,
            );
            driver.call_method1("submit", args).map(drop)
        })
    }

    fn poll(&mut self, timeout: Duration, events: &mut Vec<Event>) -> Result<(), EngineError> {
        self.call(|_, driver| {
            let polled = driver.call_method1("poll", (timeout.as_secs_f64(),))?;
            let (tokens, failures, stats): Polled = match polled.len()? {
                4 => {
                    let answers: Answers = polled.get_item(3)?.extract()?;
                    events.extend(
                        answers
                            .into_iter()
                            .map(|(id, token_ids)| Event::Answer { id, token_ids }),
                    );
                    (
                        polled.get_item(0)?.extract()?,
                        polled.get_item(1)?.extract()?,
                        polled.get_item(2)?.extract()?,
                    )
                }
                _ => polled.extract()?,
            };
            for (id, stats) in stats {
                // Engine stats are extra data: a malformed entry is dropped, not fatal.
                if let Ok(stats) = serde_json::from_str(&stats) {
                    events.push(Event::EngineStats { id, stats });
                }
            }
            events.extend(
                tokens
                    .into_iter()
                    .map(|(id, tokens, finished)| Event::Tokens {
                        id,
                        tokens,
                        finished,
                    }),
            );
            events.extend(
                failures
                    .into_iter()
                    .map(|(id, reason)| Event::Failed { id, reason }),
            );
            Ok(())
        })
    }

    fn cancel(&mut self, id: RequestId) -> Result<(), EngineError> {
        self.call(|_, driver| driver.call_method1("cancel", (id,)).map(drop))
    }

    fn reset_prefix_cache(&mut self) -> Result<(), EngineError> {
        self.call(|_, driver| driver.call_method0("reset_prefix_cache").map(drop))
    }

    fn hand_over_answers(&mut self) -> Result<(), EngineConfigError> {
        let name = self.info.name.clone();
        let cannot = |why: String| {
            EngineConfigError(format!(
                "engine '{name}' cannot hand over the token ids it generates ({why})"
            ))
        };
        let supported = Python::attach(|py| self.driver.bind(py).hasattr("hand_over_answers"));
        match supported {
            Ok(true) => self
                .call(|_, driver| driver.call_method0("hand_over_answers").map(drop))
                .map_err(|e| cannot(e.to_string())),
            Ok(false) => Err(cannot("its driver has no hand_over_answers".into())),
            Err(e) => Err(cannot(e.to_string())),
        }
    }

    fn shutdown(&mut self) -> Result<(), EngineError> {
        self.call(|_, driver| driver.call_method0("shutdown").map(drop))
    }
}

/// A missing engine package is a one-line error naming the engine and the fix.
fn check_installed(py: Python<'_>, source: &DriverSource) -> Result<(), EngineConfigError> {
    match py.import(source.requires) {
        Ok(_) => Ok(()),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyImportError>(py) => {
            Err(EngineConfigError(format!(
                "engine '{}' needs the Python module '{}' ({}); {} [{}]",
                source.engine,
                source.requires,
                one_line(py, &e),
                source.install_hint,
                interpreter::describe_environment(py),
            )))
        }
        Err(e) => Err(config_error(py, source, e)),
    }
}

/// Helpers every driver imports as `enginebench_driver_common`.
const COMMON: (&str, &str, &str) = (
    "enginebench_driver_common",
    "common.py",
    include_str!("../../../python/enginebench/drivers/common.py"),
);

/// Registers the driver module (and the common helpers) from the source
/// compiled into the binary, so the binary and the wheel always run the
/// drivers they were built with.
fn load_driver<'py>(py: Python<'py>, source: &DriverSource) -> PyResult<Bound<'py, PyModule>> {
    let (module, file_name, code) = COMMON;
    if py.import(module).is_err() {
        module_from_source(py, module, file_name, code)?;
    }
    module_from_source(py, source.module, source.file_name, source.code)
}

fn module_from_source<'py>(
    py: Python<'py>,
    module: &str,
    file_name: &str,
    code: &str,
) -> PyResult<Bound<'py, PyModule>> {
    let code = CString::new(code)?;
    let file_name = CString::new(file_name)?;
    let module = CString::new(module)?;
    PyModule::from_code(py, &code, &file_name, &module)
}

fn describe(
    driver: &Bound<'_, PyAny>,
    engine: &str,
    model: Option<String>,
) -> PyResult<EngineInfo> {
    let d = driver.call_method0("describe")?;
    let get = |key: &str| d.get_item(key);
    let settings: BTreeMap<String, String> = get("settings")?.extract()?;
    Ok(EngineInfo {
        name: engine.to_string(),
        version: get("version")?.extract()?,
        simulated: false,
        model,
        tensor_parallel_size: get("tensor_parallel_size")?.extract()?,
        max_model_len: get("max_model_len")?.extract()?,
        vocab_size: get("vocab_size")?.extract()?,
        settings,
    })
}

fn config_error(py: Python<'_>, source: &DriverSource, e: PyErr) -> EngineConfigError {
    EngineConfigError(format!(
        "engine '{}' could not start: {}",
        source.engine,
        one_line(py, &e)
    ))
}

/// `Type: message`, first line only: errors must fit on one line.
fn one_line(py: Python<'_>, e: &PyErr) -> String {
    let kind = e
        .get_type(py)
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "Exception".into());
    let message = e.value(py).to_string();
    let first = message
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    format!("{kind}: {first}")
}
