"""The pytest suite of `import sigx`, run by CTest (tests/CMakeLists.txt) with the build's
python/ folder on sys.path, or by hand:
    PYTHONPATH=build/python /usr/bin/python3 -m pytest tests/python
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import sigx

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("SIGX_BUILD_DIR", REPO / "build")).resolve()


def have(plugin):
    return any(p["name"] == plugin for p in sigx.plugins())


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def python_run(code, **kw):
    """Runs code in a fresh Debian interpreter with this build's sigx importable."""
    env = dict(os.environ, PYTHONPATH=str(BUILD / "python"))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True,
                          timeout=600, **kw)


# Two seconds of the flagship's four tones: fitted in well under a second by classical models.
TONES = """
[pipeline]
name = "tones"
[source]
plugin = "noisy_sinusoid"
duration = 2.0
phase_scale = 0.01
train_records = 1
unseen_records = 1
[models.lsq_sliding]
plugin = "lsq"
mode = "sliding"
window = 500
[models.kalman]
plugin = "kalman"
[models.fft]
plugin = "fft.block"
[output]
predictions = "none"
"""


@pytest.fixture(scope="session")
def tones_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("tones")
    return sigx.run(write(d / "tones.toml", TONES), out=d / "runs", quiet=True)


@pytest.fixture(scope="session")
def mix(tones_run):
    """A test record's mix as sigx reads it, from the run's own WAV of it."""
    rng = np.random.default_rng(7)
    t = np.arange(2000) / 1000.0
    return sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (1, 3, 5, 7)) + 0.1 * rng.standard_normal(2000)
