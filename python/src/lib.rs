//! The extension module `mltq._mltq`: the library's entry points for Python.
//!
//! Each function does what the matching `mltq` subcommand computes, without a terminal:
//! no progress bar, no signal handler, no allocator setting (the CLI's `main` sets
//! those; the library never does). Tables come back as (name, numpy array) pairs in
//! column order, built from the very CSV records the CLI writes (`table`). Long work
//! runs with the GIL released and stops on Ctrl-C (`interrupt`). The Python package
//! around this module (python/mltq/__init__.py) turns tables into DataFrames and
//! arrays into layers.

mod err;
mod interrupt;
mod model;
mod table;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use mltq::arch::Arch;
use mltq::cost::LayerCost;
use mltq::encoding::EncSpec;
use mltq::gen::precision::PrecisionList;
use mltq::gen::{self, GenSpec};
use mltq::model::Network;
use mltq::report;
use mltq::run::{self, ActsChoice, Run};
use mltq::sim::LayerRun;
use mltq::sweep::{self, Inputs, Shard, Spec, Tool};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

use crate::model::{Model, Tensor};
use crate::table::Columns;

/// An arch argument: a path to an arch file, or the TOML text itself (anything with a
/// newline or `=` that is not a file). Returns the arch and its name for messages.
fn load_arch(arch: &str) -> mltq::Result<(Arch, String)> {
    let path = Path::new(arch);
    if !path.exists() && (arch.contains('\n') || arch.contains('=')) {
        return Ok((Arch::parse(arch, "<arch>")?, "<arch>".to_string()));
    }
    Ok((Arch::load(path)?, arch.to_string()))
}

/// A model argument: a `Model` object, or a `.mltq` path or built-in name.
enum ModelArg<'py> {
    Object(PyRef<'py, Model>),
    Name(String),
}

impl<'py> ModelArg<'py> {
    fn extract(obj: &Bound<'py, PyAny>) -> PyResult<ModelArg<'py>> {
        if let Ok(m) = obj.cast::<Model>() {
            return Ok(ModelArg::Object(m.try_borrow()?));
        }
        obj.extract::<String>().map(ModelArg::Name).map_err(|_| {
            err::value(format!(
                "model must be a mltq.Model, a .mltq path or a built-in network name, not {}",
                obj.get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|_| "this".into())
            ))
        })
    }

    /// What the work needs, without the Python object (which stays with the caller).
    fn source(&self) -> ModelSource<'_> {
        match self {
            ModelArg::Object(m) => ModelSource::Net(&m.net),
            ModelArg::Name(s) => ModelSource::Name(s),
        }
    }
}

/// A model argument as the work (without the GIL) sees it.
#[derive(Clone, Copy)]
enum ModelSource<'a> {
    Net(&'a Network),
    Name(&'a str),
}

impl ModelSource<'_> {
    /// The network (borrowed from a `Model`, or read or generated) and its name for
    /// messages.
    fn network(&self) -> mltq::Result<(Cow<'_, Network>, String)> {
        match *self {
            ModelSource::Net(n) => Ok((Cow::Borrowed(n), n.name.clone())),
            ModelSource::Name(s) => {
                let (net, _) = mltq::cli::load_model_with(s, false)?;
                Ok((Cow::Owned(net), s.to_string()))
            }
        }
    }
}

fn enc_spec(s: Option<&str>) -> PyResult<Option<EncSpec>> {
    s.map(|s| s.parse::<EncSpec>().map_err(err::value))
        .transpose()
}

/// An error that stops a run when an interrupt arrives (never shown: the interrupt
/// is raised instead).
fn interrupted() -> mltq::Error {
    mltq::Error::invalid("interrupted")
}

/// Every CSV record of `runs` (each run's layers, then its totals), in order.
fn records(runs: &[Run]) -> Vec<Vec<String>> {
    runs.iter()
        .flat_map(report::rows)
        .map(|r| report::csv::record(&r).into_iter().collect())
        .collect()
}

/// Simulate `model` on `arch`: the rows of `mltq simulate --csv`, typed.
#[pyfunction]
#[pyo3(signature = (arch, model, sample=0, all_samples=false, act_density=None, seed=None, act_enc=None))]
#[allow(clippy::too_many_arguments)]
fn simulate(
    py: Python<'_>,
    arch: &str,
    model: &Bound<'_, PyAny>,
    sample: u32,
    all_samples: bool,
    act_density: Option<f64>,
    seed: Option<u64>,
    act_enc: Option<&str>,
) -> PyResult<Columns> {
    let model = ModelArg::extract(model)?;
    let choice = match (act_density, seed) {
        (Some(density), Some(seed)) => ActsChoice::Synthetic {
            sample,
            enc: enc_spec(act_enc)?,
            density,
            seed,
        },
        _ if all_samples => ActsChoice::AllSamples,
        _ => ActsChoice::Sample(sample),
    };
    let model_ref = model.source();
    let recs = interrupt::run(py, |cancel: &AtomicBool| -> mltq::Result<_> {
        let (arch, arch_name) = load_arch(arch)?;
        let (mut net, label) = model_ref.network()?;
        if interrupt::cancelled(cancel) {
            return Err(interrupted());
        }
        let sources = run::prepare(&mut net, &arch, &choice, &label, &arch_name)?;
        let stop = |_: usize, _: &[LayerRun], _: &[LayerCost]| -> mltq::Result<()> {
            if interrupt::cancelled(cancel) {
                Err(interrupted())
            } else {
                Ok(())
            }
        };
        let runs = run::simulate_samples(&net, &arch, sources, &|| {}, Some(&stop))?;
        Ok(records(&runs))
    })?
    .map_err(err::from)?;
    let names: Vec<String> = report::csv::HEADER.iter().map(|c| c.to_string()).collect();
    table::columns(py, &names, &report::columns::header_kinds(), &recs)
}

/// `mltq gen`: a built-in network with seeded synthetic values. `None` takes the
/// default of `mltq gen` (see `gen_defaults`). The value laws, per-layer densities and
/// precisions are `mltq gen`'s flags of the same names, in the same spellings: a
/// distribution's name, a density or a list of one per layer, a precision list as a
/// string (`"8,-,6"`) or a list of ints (None keeps a layer at its full width).
#[pyfunction(name = "gen")]
#[pyo3(signature = (
    network, weights=None, acts=None, weight_density=None, act_density=None, samples=None,
    seed=None, *, weight_dist=None, act_dist=None, weight_precision=None,
    act_precision=None, precision=None, precision_profile=None, profile_precision=false,
    tolerance=None
))]
#[allow(clippy::too_many_arguments)]
fn gen_py(
    py: Python<'_>,
    network: &str,
    weights: Option<&str>,
    acts: Option<&str>,
    weight_density: Option<f64>,
    act_density: Option<&Bound<'_, PyAny>>,
    samples: Option<u32>,
    seed: Option<u64>,
    weight_dist: Option<&str>,
    act_dist: Option<&str>,
    weight_precision: Option<&Bound<'_, PyAny>>,
    act_precision: Option<&Bound<'_, PyAny>>,
    precision: Option<PathBuf>,
    precision_profile: Option<String>,
    profile_precision: bool,
    tolerance: Option<&Bound<'_, PyAny>>,
) -> PyResult<Model> {
    let d = GenSpec::default();
    let bad = |what: &str, e: String| PyValueError::new_err(format!("{what}: {e}"));
    let act_density = match act_density {
        None => None,
        Some(x) => Some(if let Ok(v) = x.extract::<f64>() {
            mltq::gen::DensityList(vec![v])
        } else {
            mltq::gen::DensityList(x.extract::<Vec<f64>>().map_err(|_| {
                PyValueError::new_err(
                    "act_density: a number, or a list of one number per layer".to_string(),
                )
            })?)
        }),
    };
    let plist = |what: &str, x: Option<&Bound<'_, PyAny>>| -> PyResult<Option<PrecisionList>> {
        let Some(x) = x else { return Ok(None) };
        if let Ok(s) = x.extract::<String>() {
            return s.parse().map(Some).map_err(|e| bad(what, e));
        }
        if let Ok(v) = x.extract::<u32>() {
            return Ok(Some(PrecisionList(vec![Some(v)])));
        }
        x.extract::<Vec<Option<u32>>>()
            .map(|v| Some(PrecisionList(v)))
            .map_err(|_| {
                PyValueError::new_err(format!(
                    "{what}: a list of precisions (ints, None for the full width) or a string such as \"8,-,6\""
                ))
            })
    };
    let tolerance = match tolerance {
        None => None,
        Some(t) => Some(match t.extract::<String>() {
            Ok(s) => s,
            Err(_) => t
                .extract::<f64>()
                .map_err(|_| {
                    PyValueError::new_err(
                        "tolerance: a fraction (0.01) or a percentage string (\"1%\")".to_string(),
                    )
                })?
                .to_string(),
        }),
    };
    let args = mltq::cli::GenArgs {
        network: network.to_string(),
        out: PathBuf::new(),
        weights: enc_spec(weights)?.unwrap_or(d.weights),
        acts: enc_spec(acts)?.unwrap_or(d.acts),
        weight_density,
        act_density,
        weight_dist: match weight_dist {
            Some(s) => s.parse().map_err(|e| bad("weight_dist", e))?,
            None => Default::default(),
        },
        act_dist: match act_dist {
            Some(s) => s.parse().map_err(|e| bad("act_dist", e))?,
            None => Default::default(),
        },
        act_precision: plist("act_precision", act_precision)?,
        weight_precision: plist("weight_precision", weight_precision)?,
        precision,
        precision_profile,
        profile_precision,
        tolerance,
        samples: samples.unwrap_or(d.samples),
        seed: seed.unwrap_or(d.seed),
    };
    let network = network.to_string();
    let net = interrupt::run(py, |_: &AtomicBool| -> mltq::Result<Network> {
        let plan = mltq::cli::gen_plan(&args)?;
        gen::synthesize_with(&network, plan.layers, &plan.spec, &plan.opts)
    })?
    .map_err(err::from)?;
    Ok(Model { net })
}

/// The settings `mltq gen` uses when none are given.
#[pyfunction]
fn gen_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = GenSpec::default();
    let out = PyDict::new(py);
    out.set_item("weights", d.weights.to_string())?;
    out.set_item("acts", d.acts.to_string())?;
    out.set_item("weight_density", d.weight_density)?;
    out.set_item("act_density", d.act_density)?;
    out.set_item("samples", d.samples)?;
    out.set_item("seed", d.seed)?;
    Ok(out)
}

/// The encodings `mltq import` quantizes to when none are given: (weights, acts).
#[pyfunction]
fn import_defaults() -> (String, String) {
    (
        mltq::import::DEFAULT_WEIGHTS.to_string(),
        mltq::import::DEFAULT_ACTS.to_string(),
    )
}

/// The built-in networks.
#[pyfunction]
fn networks() -> Vec<&'static str> {
    mltq::zoo::NETWORKS.to_vec()
}

/// `mltq inspect`: per layer its geometry, encodings, the word and digit densities of
/// its weights and of each sample's activations, and MACs; then a `total` row
/// (densities weighted by element counts).
#[pyfunction]
fn inspect(py: Python<'_>, model: &Bound<'_, PyAny>) -> PyResult<Columns> {
    let model = ModelArg::extract(model)?;
    let model_ref = model.source();
    let (names, kinds, rows) = interrupt::run(py, |_: &AtomicBool| -> mltq::Result<_> {
        let (net, _) = model_ref.network()?;
        Ok(inspect_rows(&net))
    })?
    .map_err(err::from)?;
    table::columns(py, &names, &kinds, &rows)
}

type Table = (
    Vec<String>,
    Vec<Option<report::columns::ColumnKind>>,
    Vec<Vec<String>>,
);

fn inspect_rows(net: &Network) -> Table {
    use report::columns::ColumnKind::{Float, Int, Text};
    let samples = net.samples();
    let mut names: Vec<(String, _)> = [
        ("layer", Text),
        ("op", Text),
        ("geometry", Text),
        ("weight_shape", Text),
        ("weight_encoding", Text),
        ("act_encoding", Text),
        ("weight_count", Int),
        ("weight_word_density", Float),
        ("weight_digit_density", Float),
    ]
    .into_iter()
    .map(|(n, k)| (n.to_string(), k))
    .collect();
    for s in &samples {
        names.push((format!("act{s}_word_density"), Float));
        names.push((format!("act{s}_digit_density"), Float));
    }
    names.push(("macs".to_string(), Int));

    // (word, digit, elements) of a tensor, or NaN for a missing one.
    let dens = |t: Option<&mltq::tensor::Tensor>| match t {
        Some(t) => (t.word_density(), t.digit_density(), t.len() as f64),
        None => (f64::NAN, f64::NAN, 0.0),
    };
    let stats: Vec<Vec<(f64, f64, f64)>> = net
        .layers
        .par_iter()
        .map(|l| {
            let mut v = vec![dens(Some(&l.weights))];
            v.extend(samples.iter().map(|s| dens(l.acts.get(s))));
            v
        })
        .collect();
    let mut rows = Vec::with_capacity(net.layers.len() + 1);
    for (l, st) in net.layers.iter().zip(&stats) {
        let mut r = vec![
            l.name.clone(),
            l.geom.op().to_string(),
            l.geom.describe(),
            l.weights
                .shape()
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("x"),
            l.weights.encoding().short(),
            l.acts
                .values()
                .next()
                .map_or(String::new(), |a| a.encoding().short()),
            l.weights.len().to_string(),
        ];
        for &(w, d, _) in st {
            r.push(w.to_string());
            r.push(d.to_string());
        }
        r.push(l.geom.macs().to_string());
        rows.push(r);
    }
    // Totals: each density weighted by its tensor's elements.
    let mut total = vec![
        "total".to_string(),
        String::new(),
        format!("{} layers", net.layers.len()),
        String::new(),
        String::new(),
        String::new(),
        net.weight_count().to_string(),
    ];
    for k in 0..=samples.len() {
        let (mut w, mut d, mut n) = (0.0, 0.0, 0.0);
        for st in &stats {
            let (sw, sd, sn) = st[k];
            if sn > 0.0 {
                w += sw * sn;
                d += sd * sn;
                n += sn;
            }
        }
        let (w, d) = if n > 0.0 {
            (w / n, d / n)
        } else {
            (f64::NAN, f64::NAN)
        };
        total.push(w.to_string());
        total.push(d.to_string());
    }
    total.push(net.macs().to_string());
    rows.push(total);
    let (names, kinds) = names.into_iter().map(|(n, k)| (n, Some(k))).unzip();
    (names, kinds, rows)
}

/// Read a CSV that mltq wrote: its header and records.
fn read_csv(path: &Path) -> mltq::Result<(Vec<String>, Vec<Vec<String>>)> {
    let mut r = ::csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .map_err(|e| mltq::Error::invalid(format!("cannot read {}: {e}", path.display())))?;
    let bad = |e: ::csv::Error| mltq::Error::invalid(format!("{}: {e}", path.display()));
    let names = r
        .headers()
        .map_err(bad)?
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.map(|rec| rec.iter().map(str::to_string).collect()))
        .collect::<Result<Vec<Vec<String>>, _>>()
        .map_err(bad)?;
    Ok((names, rows))
}

/// The tool's inputs, refusing to start another model once an interrupt arrived.
struct Interruptible<'a> {
    cancel: &'a AtomicBool,
    tool: Tool,
}

impl Inputs for Interruptible<'_> {
    fn networks(&self) -> Vec<&'static str> {
        self.tool.networks()
    }
    fn gen_defaults(&self) -> sweep::GenParams {
        self.tool.gen_defaults()
    }
    fn arch(&self, path: &Path) -> mltq::Result<Arch> {
        self.tool.arch(path)
    }
    fn arch_with(
        &self,
        path: &Path,
        base: &Arch,
        array: &[(&str, i64)],
        schemes: &[mltq::arch::SchemeSetting],
    ) -> mltq::Result<Arch> {
        self.tool.arch_with(path, base, array, schemes)
    }
    fn check_model_file(&self, path: &Path) -> mltq::Result<()> {
        self.tool.check_model_file(path)
    }
    fn model_file(&self, path: &Path) -> mltq::Result<Network> {
        if interrupt::cancelled(self.cancel) {
            return Err(interrupted());
        }
        self.tool.model_file(path)
    }
    fn generate(&self, network: &str, g: &sweep::GenParams) -> mltq::Result<Network> {
        if interrupt::cancelled(self.cancel) {
            return Err(interrupted());
        }
        self.tool.generate(network, g)
    }
    fn check_gen(&self, g: &sweep::GenParams) -> mltq::Result<()> {
        self.tool.check_gen(g)
    }
}

/// `mltq sweep SPEC [--out DIR] [--shard K/N] [--threads N]`: the rows of its
/// `results.csv`, typed. Returns the table and the output directory.
#[pyfunction(name = "sweep")]
#[pyo3(signature = (spec, out=None, shard=None, threads=None))]
fn sweep_py(
    py: Python<'_>,
    spec: PathBuf,
    out: Option<PathBuf>,
    shard: Option<&str>,
    threads: Option<usize>,
) -> PyResult<(Columns, PathBuf)> {
    let shard: Option<Shard> = shard
        .map(|s| s.parse::<Shard>().map_err(err::value))
        .transpose()?;
    if threads == Some(0) {
        return Err(err::value("--threads must be at least 1"));
    }
    let (names, rows, dir) = interrupt::run(py, |cancel: &AtomicBool| -> mltq::Result<_> {
        let spec = Spec::load(&spec, &Tool::new().networks())?;
        let dir = out.unwrap_or_else(|| sweep::default_out(&spec));
        let opts = sweep::Options {
            threads,
            shard,
            progress: false,
        };
        let s = sweep::sweep_run(
            &spec,
            &Interruptible {
                cancel,
                tool: Tool::new(),
            },
            &dir,
            &opts,
        )?;
        let (names, rows) = read_csv(&s.csv)?;
        Ok((names, rows, dir))
    })?
    .map_err(err::from)?;
    let kinds = table::sweep_kinds(&names);
    Ok((table::columns(py, &names, &kinds, &rows)?, dir))
}

/// `mltq sweep SPEC --list`: the points (index, id, parameters) without simulating.
#[pyfunction]
#[pyo3(signature = (spec, shard=None))]
fn sweep_points(py: Python<'_>, spec: PathBuf, shard: Option<&str>) -> PyResult<Columns> {
    let shard: Option<Shard> = shard
        .map(|s| s.parse::<Shard>().map_err(err::value))
        .transpose()?;
    let spec = Spec::load(&spec, &Tool::new().networks()).map_err(err::from)?;
    let params = spec.param_columns();
    let mut names = vec!["point".to_string(), "point_id".to_string()];
    names.extend(params.iter().map(|p| p.name().to_string()));
    let mut kinds = vec![
        Some(report::columns::ColumnKind::Int),
        Some(report::columns::ColumnKind::Text),
    ];
    kinds.extend(params.iter().map(|p| Some(p.kind())));
    let rows: Vec<Vec<String>> = spec
        .points()
        .filter(|p| shard.is_none_or(|s| s.contains(p.index)))
        .map(|p| {
            let mut r = vec![p.index.to_string(), p.id.clone()];
            r.extend(
                params
                    .iter()
                    .map(|q| p.get(q.clone()).map(|v| v.to_string()).unwrap_or_default()),
            );
            r
        })
        .collect();
    table::columns(py, &names, &kinds, &rows)
}

/// `mltq merge SHARD_DIR... --out DIR`: the merged `results.csv`, typed.
#[pyfunction]
fn merge(py: Python<'_>, shards: Vec<PathBuf>, out: PathBuf) -> PyResult<Columns> {
    let (names, rows) = interrupt::run(py, |_: &AtomicBool| -> mltq::Result<_> {
        let s = sweep::merge(&shards, &out)?;
        read_csv(&s.csv)
    })?
    .map_err(err::from)?;
    let kinds = table::sweep_kinds(&names);
    table::columns(py, &names, &kinds, &rows)
}

/// The CSV columns of `mltq simulate` and their kinds (`text`, `int`, `float`).
#[pyfunction]
fn csv_columns() -> Vec<(&'static str, String)> {
    report::csv::HEADER
        .iter()
        .zip(report::columns::header_kinds())
        .map(|(c, k)| {
            (
                *c,
                k.map_or("unknown".to_string(), |k| format!("{k:?}").to_lowercase()),
            )
        })
        .collect()
}

/// mltq: a cycle-level simulator of bit-serial and sparse DNN accelerators (native part).
#[pymodule]
fn _mltq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", m.py().get_type::<err::Error>())?;
    m.add_class::<Model>()?;
    m.add_class::<Tensor>()?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(gen_py, m)?)?;
    m.add_function(wrap_pyfunction!(gen_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(networks, m)?)?;
    m.add_function(wrap_pyfunction!(import_defaults, m)?)?;
    m.add_function(wrap_pyfunction!(inspect, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_py, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_points, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(csv_columns, m)?)?;
    Ok(())
}
