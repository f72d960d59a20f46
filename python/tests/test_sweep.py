"""mltq.sweep, sweep_points and merge against the CLI's files, and the dtypes of the
parameter columns."""

import numpy as np
import pytest

import mltq
from conftest import assert_table_equals_csv

SPEC = """\
name = "small"
[fixed]
arch = "embedded.toml"
network = "resnet20"
acts = "ternary:2"
[grid]
weight_density = [1.0, 0.25]
column_registers = [0, 2]
[[zip]]
weights = ["ternary:1", "ternary:2"]
seed = [1, 2]
"""


@pytest.fixture
def spec(tmp_path, root):
    (tmp_path / "embedded.toml").write_text((root / "arch" / "embedded.toml").read_text())
    (tmp_path / "small.toml").write_text(SPEC)
    return tmp_path / "small.toml"


def test_sweep_equals_the_cli_results(spec, cli, tmp_path):
    cli.ok("sweep", spec, "--out", tmp_path / "cli", "--threads", "2")
    df = mltq.sweep(spec, tmp_path / "py")
    assert_table_equals_csv(df, tmp_path / "cli" / "results.csv")
    assert (tmp_path / "py" / "results.csv").read_bytes() == (tmp_path / "cli" / "results.csv").read_bytes()
    assert df.attrs["out"] == str(tmp_path / "py")
    # 8 points × (22 layers + total) × 3 schemes.
    assert len(df) == 8 * 23 * 3 and sorted(set(df["point"])) == list(range(8))
    # Default output directory: out/NAME beside the sweep file, as the CLI's.
    mltq.sweep(spec)
    assert (tmp_path / "out" / "small" / "results.csv").read_bytes() == (tmp_path / "cli" / "results.csv").read_bytes()


def test_parameter_columns_are_typed(spec, tmp_path):
    df = mltq.sweep(spec, tmp_path / "py", threads=1)
    assert df["point"].dtype == np.int64
    assert df["weight_density"].dtype == np.float64
    assert df["column_registers"].dtype == np.int64 and df["seed"].dtype == np.int64
    assert df["cycles"].dtype == np.int64 and df["speedup"].dtype == np.float64
    for c in ["point_id", "arch", "weights", "acts", "network", "layer", "scheme"]:
        assert all(isinstance(v, str) for v in df[c]), c
    assert sorted(set(df["weight_density"])) == [0.25, 1.0]


def test_shards_merge_to_the_unsharded_results(spec, cli, tmp_path):
    full = mltq.sweep(spec, tmp_path / "full")
    dirs = []
    for k in (1, 2, 3):
        part = mltq.sweep(spec, tmp_path / f"shard-{k}", shard=(k, 3))
        assert sorted(set(part["point"])) == [i for i in range(8) if i % 3 == k - 1]
        dirs.append(tmp_path / f"shard-{k}")
    merged = mltq.merge(dirs, tmp_path / "merged")
    assert merged.equals(full)
    assert (tmp_path / "merged" / "results.csv").read_bytes() == (tmp_path / "full" / "results.csv").read_bytes()
    with pytest.raises(mltq.Error, match="bad shard `4/3`"):
        mltq.sweep(spec, tmp_path / "x", shard="4/3")


def test_points_equal_the_cli_list(spec, cli):
    listed = cli.ok("sweep", spec, "--list", "--shard", "2/3").splitlines()
    pts = mltq.sweep_points(spec, shard="2/3")
    assert list(pts["point_id"]) == [l.split("\t")[0] for l in listed]
    assert list(pts["point"]) == [1, 4, 7]
    assert list(pts.columns) == ["point", "point_id", "weights", "acts", "weight_density", "seed", "arch", "column_registers"]
    assert pts["weight_density"].dtype == np.float64 and pts["seed"].dtype == np.int64
