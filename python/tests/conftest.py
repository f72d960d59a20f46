"""Shared fixtures: the repository root, the `mltq` CLI binary the package is compared
with, and a helper to run it.

The binary is $MLTQ_BIN when set (.ci/run sets it to the one `cargo test` built);
otherwise `cargo build --bin mltq` builds (or finds up to date) target/debug/mltq.
"""

import csv
import io
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def mltq_bin() -> str:
    env = os.environ.get("MLTQ_BIN")
    if env:
        assert os.access(env, os.X_OK), f"MLTQ_BIN={env} is not an executable"
        return os.path.abspath(env)
    subprocess.run(
        ["cargo", "build", "--locked", "--quiet", "--bin", "mltq"], cwd=ROOT, check=True
    )
    return str(ROOT / "target" / "debug" / "mltq")


class Cli:
    def __init__(self, binary: str):
        self.binary = binary

    def run(self, *args, cwd=None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [self.binary, *map(str, args)],
            cwd=cwd,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    def ok(self, *args, cwd=None) -> str:
        p = self.run(*args, cwd=cwd)
        assert p.returncode == 0, f"mltq {' '.join(map(str, args))} failed:\n{p.stderr}"
        return p.stdout

    def error(self, *args, cwd=None) -> str:
        """The message of the CLI's one `error:` line (exit status 2)."""
        p = self.run(*args, cwd=cwd)
        assert p.returncode == 2, f"exit {p.returncode}: {p.stderr}"
        lines = p.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), p.stderr
        return lines[0][len("error: ") :]


@pytest.fixture(scope="session")
def cli(mltq_bin) -> Cli:
    return Cli(mltq_bin)


def read_csv(path) -> tuple:
    """(header, rows) of a CSV file, as text."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def assert_table_equals_csv(table, path):
    """Every column of `table` (DataFrame or dict of arrays) holds exactly the CSV's
    cells: same columns in the same order, same number of rows, int and float cells
    equal to the parsed text (NaN for an empty cell), text cells equal."""
    header, rows = read_csv(path)
    cols = list(table.keys()) if isinstance(table, dict) else list(table.columns)
    assert cols == header
    for j, name in enumerate(header):
        values = list(table[name])
        assert len(values) == len(rows), name
        for v, r in zip(values, rows):
            cell = r[j]
            if isinstance(v, str):
                assert v == cell, (name, v, cell)
            elif cell == "":
                # A count the row's scheme does not have (kept_steps without a schedule).
                assert v != v, (name, v, cell)
            elif float(v).is_integer() and "." not in cell and cell != "inf":
                assert int(v) == int(cell), (name, v, cell)
            else:
                assert float(v) == float(cell), (name, v, cell)
