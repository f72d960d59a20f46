"""mltq.simulate against the CLI: the same rows, columns and numbers; dtypes decided by
the library's column kinds; dicts of numpy arrays without pandas."""

import sys

import numpy as np
import pytest

import mltq
from conftest import assert_table_equals_csv, read_csv


@pytest.fixture
def embedded(root):
    return str(root / "arch" / "embedded.toml")


def test_builtin_network_equals_the_cli_csv(cli, embedded, tmp_path):
    out = tmp_path / "cli.csv"
    cli.ok("simulate", "--arch", embedded, "--model", "resnet20", "--csv", out, "-q")
    df = mltq.simulate(embedded, "resnet20")
    assert_table_equals_csv(df, out)
    # 22 layers × 3 schemes, then the 3 totals.
    assert len(df) == 69
    assert list(df["layer"][-3:]) == ["total"] * 3


def test_model_file_synthetic_acts_and_all_samples_equal_the_cli(cli, embedded, tmp_path):
    model = tmp_path / "r20.mltq"
    cli.ok("gen", "resnet20", "--out", model, "--samples", "2", "--seed", "5")
    runs = {
        "sample1": (["--sample", "1"], dict(sample=1)),
        "all": (["--all-samples"], dict(all_samples=True)),
        "synthetic": (
            ["--act-density", "0.3", "--seed", "9", "--act-enc", "ternary:3"],
            dict(act_density=0.3, seed=9, act_enc="ternary:3"),
        ),
    }
    for name, (flags, kwargs) in runs.items():
        out = tmp_path / f"{name}.csv"
        cli.ok("simulate", "--arch", embedded, "--model", model, "--csv", out, "-q", *flags)
        assert_table_equals_csv(mltq.simulate(embedded, model, **kwargs), out)
    # Every sample's rows in turn, each with its totals.
    df = mltq.simulate(embedded, str(model), all_samples=True)
    assert sorted(set(df["sample"])) == [0, 1]
    assert list(df["sample"]).index(1) == len(df) // 2


def test_arch_as_toml_text_and_pathlike(embedded):
    text = open(embedded).read()
    import pathlib

    a = mltq.simulate(text, "resnet20")
    b = mltq.simulate(pathlib.Path(embedded), "resnet20")
    assert a.equals(b)


def test_totals_are_sums_and_ratios_of_sums(embedded):
    df = mltq.simulate(embedded, "resnet20")
    layers, totals = df[df.layer != "total"], df[df.layer == "total"].set_index("scheme")
    for scheme, rows in layers.groupby("scheme"):
        for col in ["macs", "cycles", "work", "busy_lane_cycles", "lane_cycles"]:
            assert totals.loc[scheme, col] == rows[col].sum(), (scheme, col)
    base = totals.loc["mlb", "cycles"]
    for scheme in totals.index:
        assert totals.loc[scheme, "speedup"] == pytest.approx(base / totals.loc[scheme, "cycles"], abs=5e-7)


def test_dtypes_follow_the_library_column_kinds(embedded):
    pd = pytest.importorskip("pandas")
    df = mltq.simulate(embedded, "resnet20")
    kinds = dict(mltq.csv_columns())
    # Every CSV column has a kind, and the frame has exactly those columns.
    assert list(df.columns) == [c for c, _ in mltq.csv_columns()]
    assert "unknown" not in kinds.values()
    for c, k in kinds.items():
        if k == "int":
            assert df[c].dtype == np.int64, c
        elif k in ("float", "optint"):
            assert df[c].dtype == np.float64, c
        else:
            assert not pd.api.types.is_numeric_dtype(df[c]), c
            assert all(isinstance(v, str) for v in df[c]), c
    # The contract columns at least.
    assert kinds["cycles"] == "int" and kinds["macs"] == "int" and kinds["sample"] == "int"
    assert kinds["speedup"] == "float" and kinds["potential_speedup"] == "float"
    assert kinds["layer"] == "text" and kinds["scheme"] == "text"


def test_weight_schedule_counts_equal_the_cli_and_are_nan_without_one(cli, root, tmp_path):
    arch = tmp_path / "bt.toml"
    arch.write_text(
        open(root / "arch" / "embedded.toml").read()
        + '\n[[scheme]]\nname = "mltq-bit-t25"\nbase = "mltq-bit"\n'
        'weight_schedule = { shape = "T", lookahead = 2, lookaside = 5 }\n'
    )
    text = arch.read_text()
    # List the scheduled scheme and the bittactical preset beside the arch's own.
    arch.write_text(text.replace("schemes = [", 'schemes = ["bittactical", "mltq-bit-t25", ', 1))
    out = tmp_path / "cli.csv"
    cli.ok("simulate", "--arch", arch, "--model", "resnet20", "--csv", out, "-q")
    df = mltq.simulate(str(arch), "resnet20")
    assert_table_equals_csv(df, out)
    kinds = dict(mltq.csv_columns())
    assert kinds["kept_steps"] == "optint" and kinds["promoted"] == "optint"
    scheduled = df["scheme"].isin(["bittactical", "mltq-bit-t25"])
    assert df["kept_steps"][scheduled].notna().all()
    assert df["kept_steps"][~scheduled].isna().all()
    assert (df["kept_steps"][scheduled] > 0).all()


def test_without_pandas_tables_are_dicts_of_numpy_arrays(embedded, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    d = mltq.simulate(embedded, "resnet20")
    assert isinstance(d, dict)
    assert list(d) == [c for c, _ in mltq.csv_columns()]
    assert d["cycles"].dtype == np.int64 and d["speedup"].dtype == np.float64
    assert d["scheme"].dtype == object and d["scheme"][0] == "mlb"
    assert all(len(v) == 69 for v in d.values())
    assert isinstance(mltq.inspect("resnet20"), dict)


def test_a_hand_counted_layer_with_an_infinite_potential(cli, tmp_path):
    # fc 4 -> 2 on one PE column of 2 rows × 4 lanes: one step, both filters at once.
    # Weights all zero (ternary:2), activations all one (ternary:1).
    # mlb: every pair costs 2 planes × 1 plane = 2 cycles; work 8 MACs × 2 = 16.
    # mltq-bit: every pair has 0 terms, so the PE costs min_cycles = 1; work 0, and the
    # potential speedup 16 / 0 is infinite (`inf` in the CSV).
    arch = (
        'name = "z"\nbaseline = "mlb"\nschemes = ["mlb", "mltq-bit"]\n'
        "[array]\ntiles = 1\nrows = 2\ncolumns = 1\nlanes = 4\n"
    )
    m = mltq.Model("zeros")
    m.add_fc("fc", np.zeros((2, 4)), np.ones(4), act_enc="ternary:1")
    df = mltq.simulate(arch, m).set_index(["layer", "scheme"])
    assert df.loc[("fc", "mlb"), "cycles"] == 2
    assert df.loc[("fc", "mlb"), "work"] == 16
    assert df.loc[("fc", "mltq-bit"), "cycles"] == 1
    assert df.loc[("fc", "mltq-bit"), "work"] == 0
    assert df.loc[("fc", "mltq-bit"), "speedup"] == 2.0
    assert df.loc[("fc", "mltq-bit"), "potential_speedup"] == np.inf
    assert df.loc[("fc", "mltq-bit"), "macs"] == 8
    path = tmp_path / "z.mltq"
    m.save(path)
    (tmp_path / "z.toml").write_text(arch)
    out = tmp_path / "z.csv"
    cli.ok("simulate", "--arch", tmp_path / "z.toml", "--model", path, "--csv", out, "-q")
    assert "inf" in [r[7] for r in read_csv(out)[1]]
    assert_table_equals_csv(mltq.simulate(arch, m), out)


def test_argument_combinations_are_refused_clearly(embedded):
    with pytest.raises(mltq.Error, match="act_density and seed go together"):
        mltq.simulate(embedded, "resnet20", act_density=0.5)
    with pytest.raises(mltq.Error, match="act_enc"):
        mltq.simulate(embedded, "resnet20", act_enc="ternary:2")
    with pytest.raises(mltq.Error, match="all_samples"):
        mltq.simulate(embedded, "resnet20", sample=1, all_samples=True)
    with pytest.raises(mltq.Error, match="model must be"):
        mltq.simulate(embedded, 42)
    with pytest.raises(mltq.Error, match="bad encoding `ternary:9`"):
        mltq.simulate(embedded, "resnet20", act_density=0.5, seed=1, act_enc="ternary:9")
