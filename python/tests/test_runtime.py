"""How the package behaves inside a Python process: the GIL is released while it
simulates, Ctrl-C interrupts a simulation, and nothing of the CLI's process setup
(signal handlers) leaks in."""

import _thread
import signal
import subprocess
import sys
import threading
import time

import pytest

import mltq


def test_the_gil_is_released_while_simulating(root):
    arch = str(root / "arch" / "pe16.toml")
    model = mltq.gen("resnet50")
    done = threading.Event()
    ticks = 0

    def work():
        try:
            mltq.simulate(arch, model)
        finally:
            done.set()

    t = threading.Thread(target=work)
    start = time.perf_counter()
    t.start()
    # Pure-Python work on this thread: it only runs while the other thread does not
    # hold the GIL.
    while not done.is_set():
        ticks += 1
    elapsed = time.perf_counter() - start
    t.join()
    # A thread holding the GIL would leave this loop a few switch intervals (5 ms) at
    # most; released, it spins through the whole simulation.
    assert elapsed > 0.02, elapsed
    assert ticks > 10_000, (ticks, elapsed)


def test_ctrl_c_interrupts_a_simulation(root):
    arch = str(root / "arch" / "pe16.toml")
    model = mltq.gen("vgg16", samples=1)
    t0 = time.perf_counter()
    mltq.simulate(arch, model)
    full = time.perf_counter() - t0
    timer = threading.Timer(min(0.05, full / 10), _thread.interrupt_main)
    timer.start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        mltq.simulate(arch, model)
    timer.join()
    assert time.perf_counter() - t0 < full, "the interrupted run went on to the end"
    # Nothing is left half done: the next run works.
    assert len(mltq.simulate(arch, "resnet20")) == (22 + 1) * 6


HANDLERS = """
import signal, sys
import numpy as np
import mltq
before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
m = mltq.gen("resnet20", out=sys.argv[2] + "/m.mltq")
mltq.simulate(sys.argv[1], m)
mltq.simulate(sys.argv[1], sys.argv[2] + "/m.mltq")
mltq.inspect(m)
after = {s: signal.getsignal(s) for s in before}
assert before == after, (before, after)
assert after[signal.SIGINT] is signal.default_int_handler
assert after[signal.SIGTERM] == signal.SIG_DFL and after[signal.SIGHUP] == signal.SIG_DFL
print("ok")
"""


def test_no_signal_handler_of_the_cli_leaks_in(root, tmp_path):
    # A fresh interpreter: the handlers Python starts with stay after mltq writes files
    # (the CLI installs its temporary-file cleanup on SIGINT, SIGTERM and SIGHUP).
    p = subprocess.run(
        [sys.executable, "-c", HANDLERS, str(root / "arch" / "embedded.toml"), str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "ok"
    # And SIGTERM still ends such a process the default way.
    p = subprocess.Popen(
        [sys.executable, "-c", "import mltq, time; mltq.gen('resnet20'); print('ready', flush=True); time.sleep(30)"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert p.stdout.readline().strip() == "ready"
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == -signal.SIGTERM
