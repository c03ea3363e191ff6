"""bench/python.sh's figures: what Python costs around sigx, each beside its reference.

    PYTHONPATH=build/python /usr/bin/python3 bench/python_bench.py BUILD_DIR WORK_DIR

1. `import sigx`, against `import numpy` alone (sigx imports it), each the median of 5
   fresh interpreters.
2. Model.apply on 60 s at 16 kHz against the same model's compute in `sigx apply`: the
   command's wall time on two copies of the input less its wall time on one (what is left
   is one input read, computed and written; process start and loading cancel out).
   Target: within 10 %.
3. A Python streaming plugin's overhead per block of 256 and of 4096 samples: a class whose
   process() returns zeros (nothing but the boundary: the GIL, the arrays, the call), run
   by `sigx stream`, beside a built-in C++ model (kalman) streaming the same input; the
   time is the one `sigx stream` reports (first block read to output closed).
Every time is the fastest of several runs (the least disturbed by the machine).
"""
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import scipy.io.wavfile

import sigx

build, work = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
work.mkdir(parents=True, exist_ok=True)
exe = str(build / "sigx")
RATE, SECONDS = 16000, 60


def wall(cmd, repeats=5, **kw):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, **kw)
        times.append(time.perf_counter() - t)
    return min(times)


def streamed(cmd, repeats=5):
    """The seconds `sigx stream` reports for itself: '... in S s: ...'."""
    times = []
    for _ in range(repeats):
        err = subprocess.run(cmd, check=True, capture_output=True, text=True).stderr
        times.append(float(re.search(r" in ([0-9.]+) s: ", err).group(1)))
    return min(times)


# 1. import time
env = {"PYTHONPATH": str(build / "python")}
numpy_s = wall([sys.executable, "-c", "import numpy"], 5, env=env)
sigx_s = wall([sys.executable, "-c", "import sigx"], 5, env=env)
print(f"import sigx: {sigx_s * 1000:.0f} ms per fresh interpreter; import numpy alone: {numpy_s * 1000:.0f} ms "
      f"(sigx's own share: {(sigx_s - numpy_s) * 1000:.0f} ms)")

# The models: fitted on 2 s of 50/100/150 Hz at 16 kHz.
(work / "zeros.py").write_text(textwrap.dedent("""\
    import numpy as np

    class Zeros:
        def reset(self, rate, components):
            self.k = len(components)

        def process(self, block):
            return np.zeros((self.k, block.shape[1]))

        def save(self, folder):
            pass

        def load(self, folder):
            pass
    """))
(work / "fit.toml").write_text(textwrap.dedent(f"""\
    [source]
    plugin = "noisy_sinusoid"
    frequencies = [50.0, 100.0, 150.0]
    sample_rate = {RATE}.0
    duration = 2.0
    phase_scale = 0.01
    unseen_records = 0
    [models.kalman]
    plugin = "kalman"
    [models.lsq_sliding]
    plugin = "lsq"
    mode = "sliding"
    window = 3200
    [models.zeros]
    plugin = "python"
    script = "zeros.py"
    class = "Zeros"
    [output]
    predictions = "none"
    components = "none"
    [[evaluate]]
    plugin = "metrics"
    """))
run = sigx.run(work / "fit.toml", out=work / "runs", quiet=True)
rng = np.random.default_rng(1)
t = np.arange(RATE * SECONDS) / RATE
x = (sum(np.sin(2 * np.pi * f * t + p) for f, p in ((50, 0.3), (100, 1.1), (150, 2.0))) / 3
     + 0.1 * rng.standard_normal(t.size)).astype(np.float32)
scipy.io.wavfile.write(work / "long.wav", RATE, x)
shutil.copy(work / "long.wav", work / "long2.wav")
x = x.astype(np.float64)

# 2. apply
print(f"\nModel.apply on {SECONDS} s at {RATE // 1000} kHz against `sigx apply`'s compute (fastest of 5; target: "
      "ratio within 1.1)")
print(f"{'model':<12} {'Model.apply s':>14} {'sigx apply s':>13} {'start-up s':>11} {'ratio':>7}")
for name in ("kalman", "lsq_sliding"):
    model = sigx.load(run.path, name)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.apply(x, rate=RATE)
        times.append(time.perf_counter() - t0)
    py = min(times)
    cmd = [exe, "apply", str(run.path), "--model", name, "--out", str(work / "out"), str(work / "long.wav")]
    one = wall(cmd)
    compute = wall(cmd + [str(work / "long2.wav")]) - one
    print(f"{name:<12} {py:>14.3f} {compute:>13.3f} {one - compute:>11.3f} {py / compute:>7.2f}")

# 3. streaming overhead
print(f"\n`sigx stream` over {SECONDS} s at {RATE // 1000} kHz, microseconds per block (fastest of 5)")
print(f"{'block':>6} {'python Zeros':>13} {'kalman (C++)':>13}")
for block in (256, 4096):
    row = []
    for name in ("zeros", "kalman"):
        s = streamed([exe, "stream", str(run.path), "--model", name, "--block", str(block), str(work / "long.wav"),
                      "-o", str(work / "stream.raw")])
        row.append(s / (RATE * SECONDS / block) * 1e6)
    print(f"{block:>6} {row[0]:>13.1f} {row[1]:>13.1f}")
