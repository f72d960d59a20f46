"""The notebook-style example runs from start to end and draws its figure."""

import subprocess
import sys


def test_the_example_notebook_runs_and_draws(root, tmp_path):
    fig = tmp_path / "tinynet.png"
    p = subprocess.run(
        [sys.executable, str(root / "examples" / "python_notebook.py"), str(fig)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert p.returncode == 0, p.stderr
    assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "pe16: network totals, sample 0" in p.stdout
    assert 'Model("tinynet", 5 layers, 26416 weights, 2 samples)' in p.stdout
    assert f"wrote {fig}" in p.stdout
