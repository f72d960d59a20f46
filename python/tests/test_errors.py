"""Bad input raises mltq.Error (a ValueError) whose message is the CLI's `error:` line."""

import os

import pytest

import mltq

GOOD_ARCH = (
    'name = "t"\nbaseline = "mlb"\nschemes = ["mlb", "mltq-bit"]\n'
    "[array]\ntiles = 1\nrows = 2\ncolumns = 2\nlanes = 4\n"
)


@pytest.fixture
def files(tmp_path, cli):
    """Bad (and good) inputs in a temporary directory, named relative to it."""
    (tmp_path / "a.toml").write_text(GOOD_ARCH)
    (tmp_path / "typo.toml").write_text(GOOD_ARCH.replace("columns", "colums"))
    (tmp_path / "fs.toml").write_text(
        'name = "fs"\nbaseline = "mlb"\nschemes = ["mlb", "pragmatic-b1"]\n'
        "[array]\ntiles = 1\nrows = 2\ncolumns = 2\nlanes = 4\n"
        '[[scheme]]\nname = "pragmatic-b1"\nserial = "act"\nskip_act = "term"\nfirst_stage_bits = 1\n'
    )
    (tmp_path / "garbage.mltq").write_text("hello\n")
    cli.ok("gen", "resnet20", "--samples", "0", "--out", tmp_path / "noacts.mltq")
    cli.ok("gen", "resnet20", "--out", tmp_path / "r20.mltq")
    (tmp_path / "sw.toml").write_text('[fixed]\narch = "a.toml"\nnetwork = "resnet20"\nlevels = 2\n')
    (tmp_path / "sw-ok.toml").write_text('[fixed]\narch = "a.toml"\nnetwork = "resnet20"\n')
    return tmp_path


CASES = {
    "arch file missing": (["--arch", "nope.toml", "--model", "resnet20"], ("nope.toml", "resnet20"), {}),
    "arch unknown key": (["--arch", "typo.toml", "--model", "resnet20"], ("typo.toml", "resnet20"), {}),
    "builtin misspelled": (["--arch", "a.toml", "--model", "resnet21"], ("a.toml", "resnet21"), {}),
    "model missing": (["--arch", "a.toml", "--model", "nope.mltq"], ("a.toml", "nope.mltq"), {}),
    "model not mltq": (["--arch", "a.toml", "--model", "garbage.mltq"], ("a.toml", "garbage.mltq"), {}),
    "sample missing": (
        ["--arch", "a.toml", "--model", "r20.mltq", "--sample", "3"],
        ("a.toml", "r20.mltq"),
        dict(sample=3),
    ),
    "all samples without activations": (
        ["--arch", "a.toml", "--model", "noacts.mltq", "--all-samples"],
        ("a.toml", "noacts.mltq"),
        dict(all_samples=True),
    ),
    "scheme cannot run on the model": (
        ["--arch", "fs.toml", "--model", "r20.mltq"],
        ("fs.toml", "r20.mltq"),
        {},
    ),
    "act density out of range": (
        ["--arch", "a.toml", "--model", "resnet20", "--act-density", "1.5", "--seed", "1"],
        ("a.toml", "resnet20"),
        dict(act_density=1.5, seed=1),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_simulate_errors_match_the_cli(case, files, cli, monkeypatch):
    flags, args, kwargs = CASES[case]
    expected = cli.error("simulate", *flags, cwd=files)
    monkeypatch.chdir(files)
    with pytest.raises(mltq.Error) as e:
        mltq.simulate(*args, **kwargs)
    assert str(e.value) == expected
    assert isinstance(e.value, ValueError)


def test_inspect_gen_and_sweep_errors_match_the_cli(files, cli, monkeypatch):
    monkeypatch.chdir(files)
    pairs = [
        (cli.error("inspect", "resnt20", cwd=files), lambda: mltq.inspect("resnt20")),
        (cli.error("inspect", "garbage.mltq", cwd=files), lambda: mltq.inspect("garbage.mltq")),
        (cli.error("gen", "alexnett", "--out", "x.mltq", cwd=files), lambda: mltq.gen("alexnett")),
        (
            cli.error("gen", "resnet20", "--weight-density", "2", "--out", "x.mltq", cwd=files),
            lambda: mltq.gen("resnet20", weight_density=2.0),
        ),
        (cli.error("sweep", "sw.toml", cwd=files), lambda: mltq.sweep("sw.toml")),
        (cli.error("sweep", "missing.toml", cwd=files), lambda: mltq.sweep("missing.toml")),
        (
            cli.error("merge", "nowhere", "--out", "merged", cwd=files),
            lambda: mltq.merge(["nowhere"], "merged"),
        ),
        (cli.error("sweep", "sw-ok.toml", "--threads", "0", cwd=files), lambda: mltq.sweep("sw-ok.toml", threads=0)),
    ]
    for expected, call in pairs:
        with pytest.raises(mltq.Error) as e:
            call()
        assert str(e.value) == expected
    assert not os.path.exists(files / "x.mltq")
