//! Big inputs: models larger than memory are refused with a clear message before
//! anything is allocated, not killed by the kernel; arch files with huge arrays cost
//! what the layer needs, not what the array has.
//!
//! The sparse files are made with `File::set_len` in a temporary directory: they take
//! no disk space and reading the refused ones never happens. A counting allocator
//! records the largest single allocation of this test process.

mod common;
mod largest_alloc;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::{bin, entries, example_model, repo, run_limited};
use largest_alloc::LARGEST;
use mltq::arch::ArrayShape;
use mltq::model;
use mltq::sim::{reference, simulate_layer, used_array};

/// MemTotal of this machine in bytes, if known.
fn mem_total() -> Option<u64> {
    let t = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = t.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// A sparse `.mltq` file whose one FC layer's weights fill it: `header` (with `{OUT}`,
/// `{N}` and `{LEN}` placeholders for the filter count, element count and data length)
/// followed by `len` payload bytes that are never written.
fn sparse_model(dir: &Path, name: &str, header: &str, out: u64, bytes_per_elem: f64) -> PathBuf {
    let n = out * 65536;
    let len = (n as f64 * bytes_per_elem) as u64;
    let text = header
        .replace("{OUT}", &out.to_string())
        .replace("{N}", &n.to_string())
        .replace("{LEN}", &len.to_string());
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
    // A `scales=LEN+4` range follows the data.
    let extra = if header.contains("scales=") { 4 } else { 0 };
    f.set_len(text.len() as u64 + len + extra).unwrap();
    path
}

const INT8_FC: &str = "MLTQ 1\nnetwork name=huge\nlayer name=fc op=fc in=65536 out={OUT}\n\
    weights layer=fc shape={OUT},65536 enc=int bits=8 data=0+{LEN}\nend\n";

const TERNARY_FC: &str = "MLTQ 1\nnetwork name=sparse\nlayer name=fc op=fc in=65536 out={OUT}\n\
    weights layer=fc shape={OUT},65536 enc=ternary levels=1 scale=tensor data=0+{LEN} scales={LEN}+4\nend\n";

/// An int8 model of about MemTotal / 2 bytes (at least 4 GiB): it decodes to i32, so it
/// needs twice the machine's memory, and its header agrees with the file's length.
fn larger_than_memory(dir: &Path) -> Option<PathBuf> {
    let total = mem_total()?;
    let out = (total / 2).max(4 << 30).div_ceil(65536);
    Some(sparse_model(dir, "huge.mltq", INT8_FC, out, 1.0))
}

#[test]
fn a_multi_gigabyte_model_is_refused_before_its_payload_is_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = larger_than_memory(dir.path()) else {
        eprintln!("no /proc/meminfo: the memory check does not apply here");
        return;
    };
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size >= 4 << 30, "a multi-GB (sparse) file");

    LARGEST.store(0, Ordering::Relaxed);
    let probe = std::hint::black_box(vec![1u8; 2 << 20]);
    assert!(
        LARGEST.load(Ordering::Relaxed) >= probe.len(),
        "the counter works"
    );
    drop(probe);
    LARGEST.store(0, Ordering::Relaxed);
    let start = Instant::now();
    let e = model::load(&path).unwrap_err().to_string();
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        e.contains("needs") && e.contains("GiB but only") && e.contains("are available"),
        "{e}"
    );
    assert!(largest < 8 << 20, "an allocation of {largest} bytes: {e}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn the_cli_refuses_a_multi_gigabyte_model_quickly_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let Some(path) = larger_than_memory(dir.path()) else {
        return;
    };
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut cmd = bin();
    cmd.args(["simulate", "--arch"])
        .arg(repo("tests/data/example.toml"))
        .arg("--model")
        .arg(&path)
        .arg("--csv")
        .arg(out.join("r.csv"))
        .arg("--json")
        .arg(out.join("r.json"));
    let o = run_limited(&mut cmd, dir.path(), Duration::from_secs(60));
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    assert!(o.stderr.starts_with("error: model "), "{}", o.stderr);
    assert!(o.stderr.contains("GiB but only"), "{}", o.stderr);
    assert!(!o.stderr.contains("panicked"));
    assert!(o.elapsed < Duration::from_secs(20), "took {:?}", o.elapsed);
    assert!(entries(&out).is_empty());
}

/// 1 GiB of ternary planes (65536 × 65536 weights, one level) in a sparse file: the
/// header is consistent with the file. Under a 512 MiB budget it is refused at once.
#[test]
fn a_one_gigabyte_sparse_model_over_the_memory_budget_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    // One level: 2 planes of n/64 words of 8 bytes = n/4 bytes.
    let path = sparse_model(dir.path(), "sparse.mltq", TERNARY_FC, 65536, 0.25);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 1 << 30, "{size}");
    let mut cmd = bin();
    cmd.env("MLTQ_MAX_MEMORY", "512M")
        .args(["simulate", "--arch"])
        .arg(repo("tests/data/example.toml"))
        .arg("--model")
        .arg(&path)
        .arg("--csv")
        .arg(dir.path().join("r.csv"));
    let o = run_limited(&mut cmd, dir.path(), Duration::from_secs(60));
    assert_eq!(o.code, Some(2), "{}", o.stderr);
    let want = format!(
        "error: model {} needs 3.0 GiB but only 512.0 MiB are available (MLTQ_MAX_MEMORY=512M)",
        path.display()
    );
    assert!(o.stderr.starts_with(&want), "{}", o.stderr);
    assert!(o.elapsed < Duration::from_secs(20), "took {:?}", o.elapsed);
    assert!(!dir.path().join("r.csv").exists());
}

/// The regression behind `sim::used_array`: 2^20 lanes laid out H·W·2^20 factors per
/// layer (an allocation abort on resnet18), 2^20 columns took minutes on the example.
#[test]
fn an_arch_with_a_million_lanes_costs_what_the_layer_needs() {
    let dir = tempfile::tempdir().unwrap();
    let csv = |lanes: usize, columns: usize| -> Vec<Vec<String>> {
        let arch = dir.path().join(format!("a{lanes}x{columns}.toml"));
        std::fs::write(
            &arch,
            format!(
                "name = \"big\"\nbaseline = \"mlb\"\n\
                 schemes = [\"mlb\", \"mltq-word\", \"mltq-bit\", \"dadiannao\", \"stripes\", \"cnvlutin\", \"pragmatic\", \"laconic\"]\n\
                 [array]\ntiles = 1\nrows = 2\ncolumns = {columns}\nlanes = {lanes}\ncolumn_registers = 2\n"
            ),
        )
        .unwrap();
        let out = dir.path().join(format!("r{lanes}x{columns}.csv"));
        let mut cmd = bin();
        cmd.args(["simulate", "--quiet", "--arch"])
            .arg(&arch)
            .arg("--model")
            .arg(repo("tests/data/example.mltq"))
            .arg("--csv")
            .arg(&out);
        let o = run_limited(&mut cmd, dir.path(), Duration::from_secs(60));
        assert_eq!(o.code, Some(0), "{}", o.stderr);
        assert!(o.elapsed < Duration::from_secs(20), "took {:?}", o.elapsed);
        std::fs::read_to_string(&out)
            .unwrap()
            .lines()
            .map(|l| l.split(',').map(str::to_string).collect())
            .collect()
    };
    let big = csv(1 << 20, 1 << 11);
    let small = csv(64, 64);
    assert_eq!(big.len(), small.len());
    for (b, s) in big.iter().zip(&small).skip(1) {
        // network, layer, scheme, macs, cycles, speedup, work, potential: identical.
        assert_eq!(b[..8], s[..8]);
    }
    let big = csv(1 << 10, 1 << 20);
    for (b, s) in big.iter().zip(&small).skip(1) {
        assert_eq!(b[..8], s[..8]);
    }
}

/// The engine on the used part of a huge array equals the literal reference on an
/// array that is merely larger than the layers.
#[test]
fn used_array_gives_the_reference_cycles() {
    let net = model::parse_bytes(&example_model(), "example.mltq").unwrap();
    let arch = mltq::arch::Arch::parse(
        &std::fs::read_to_string(repo("tests/data/example.toml")).unwrap(),
        "example.toml",
    )
    .unwrap();
    let huge = ArrayShape {
        tiles: 2,
        rows: 2,
        columns: 1 << 20,
        lanes: 1 << 12,
        column_registers: 1,
    };
    let roomy = ArrayShape {
        columns: 41,
        lanes: 50,
        ..huge
    };
    for layer in &net.layers {
        let used = used_array(&layer.geom, &huge);
        assert!(used.lanes <= 38 && used.columns <= 20, "{used:?}");
        for s in &arch.schemes {
            let acts = &layer.acts[&0];
            let fast = simulate_layer(layer, acts, s, &huge).unwrap();
            let slow = reference::simulate_layer(layer, acts, s, &roomy);
            assert_eq!(
                (fast.macs, fast.cycles, fast.work, fast.busy_lane_cycles),
                (slow.macs, slow.cycles, slow.work, slow.busy_lane_cycles),
                "{} on {}",
                s.name,
                layer.name
            );
            assert_eq!(fast.lane_cycles, fast.cycles * huge.total_lanes());
        }
    }
}
