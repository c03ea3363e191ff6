"""bench/drift.sh's table: sigx's models on drifting hum beside the field's own line
removal, scipy.signal's iirnotch and MNE-Python's notch_filter(method="spectrum_fit"),
each tuned per case over its usual settings, all scored the same way.

    /usr/bin/python3 bench/drift_compare.py BENCH_DIR CASE [CASE ...]

BENCH_DIR holds data/CASE/NAME.wav with the truth in data/CASE/truth/NAME.wav (one channel
per hum component; scripts/make_hum.sh writes them), run/ (the sigx run that fitted the
models: each MODEL/manifest.json), tools_run/ (scipy's and MNE's settings as sigx models
written in Python: examples/python/notch.py and spectrum_fit.py through the `python`
plugin) and extracted/CASE/MODEL/NAME.MODEL.wav (`sigx apply`'s output for both). A
model's extracted hum is the sum of its components. The error of a case is
sum (hum - true hum)^2 / sum (true hum)^2 over every sample of its recordings: 0 is
perfect, 1 is predicting no hum. Writes BENCH_DIR/drift.json and prints the table with
the targets. Run it with Debian's interpreter (python3-scipy, python3-mne).
"""
import json
import sys
from pathlib import Path

import mne
import numpy as np
import scipy
import scipy.io.wavfile

TARGET_CAUSAL, TARGET_CAUSAL_EXACT, TARGET_NONCAUSAL = 1.0, 1.5, 0.5  # times the reference


def read(path):
    rate, x = scipy.io.wavfile.read(path)
    x = np.asarray(x, dtype=np.float64)
    return float(rate), x.reshape(len(x), -1).T  # channels x samples


def tool_rows(bench):
    """Each setting of the field's tools, a Python model of tools_run/: model, label, causal."""
    rows = []
    for manifest in sorted((bench / "tools_run").glob("*/manifest.json")):
        m = json.loads(manifest.read_text())
        cls = m["params"]["class"].strip('"')
        settings = dict(line.replace(" ", "").split("=") for line in json.loads(m["params"]["params"]))
        if cls == "SpectrumFit":
            width = "default" if "notch_width" not in settings else f"{float(settings['notch_width']):g} Hz"
            label = f"MNE spectrum_fit, {float(settings['window']):g} s windows, notch width {width}"
        else:
            label = f"scipy iirnotch Q={float(settings['q']):g}, {'causal' if m['causal'] else 'forward-backward'}"
        rows.append({"model": m["model"], "label": label, "causal": m["causal"]})
    if not rows:
        sys.exit(f"drift_compare.py: no tool models in {bench / 'tools_run'}")
    return sorted(rows, key=lambda r: (r["label"].split(",")[0], not r["causal"], r["model"]))


def model_rows(bench):
    """Each fitted model: name, causal, and what it is, from its manifest."""
    rows = []
    for manifest in sorted((bench / "run").glob("*/manifest.json")):
        m = json.loads(manifest.read_text())
        params = m["params"]
        if m.get("trained"):
            tracker = params.get("tracker", '"none"').strip('"')
            kind = "learned" if tracker == "none" else f"hybrid (learned + {tracker})"
        else:
            kind = "classical"
        rows.append({"model": m["model"], "plugin": m["plugin"], "causal": m["causal"], "kind": kind})
    order = {"tracker": 0, "multitaper": 1, "notch": 2, "lms": 3}
    return sorted(rows, key=lambda r: (order.get(r["plugin"], 9), r["model"]))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    bench, cases = Path(sys.argv[1]), sys.argv[2:]
    models, tools = model_rows(bench), tool_rows(bench)
    result = {"tools": {"scipy": scipy.__version__, "mne": mne.__version__, "numpy": np.__version__},
              "models": models, "cases": {}}
    for case in cases:
        folder = bench / "data" / case
        files = sorted(folder.glob("*.wav"))
        if not files:
            sys.exit(f"drift_compare.py: no recordings in {folder}")
        records = []
        for f in files:
            rate, mix = read(f)
            _, truth = read(folder / "truth" / f.name)
            records.append((f.stem, rate, mix[0], truth.sum(axis=0)))
        power = sum(float(np.sum(hum ** 2)) for *_, hum in records)
        row = {"sigx": {}, "tools": {}}

        def error(model):
            err = 0.0
            for stem, rate, mix, hum in records:
                _, y = read(bench / "extracted" / case / model / f"{stem}.{model}.wav")
                err += float(np.sum((y.sum(axis=0) - hum) ** 2))
            return err / power

        for m in models:
            row["sigx"][m["model"]] = error(m["model"])
        for t in tools:
            row["tools"][t["label"]] = {"causal": t["causal"], "error": error(t["model"])}
        noncausal = {k: v["error"] for k, v in row["tools"].items() if not v["causal"]}
        row["reference"] = min(noncausal.values())
        row["reference_setting"] = min(noncausal, key=noncausal.get)
        result["cases"][case] = row
    (bench / "drift.json").write_text(json.dumps(result, indent=1) + "\n")
    print_table(result, cases)


def print_table(result, cases):
    rows = result["cases"]
    width = max(12, *(len(c) for c in cases))
    print(f"relative error of the extracted total hum (0 perfect, 1 = predicting none); "
          f"{len(result['models'])} sigx models, each fitted once on walking-grid hum")
    header = f"{'':<58}" + "".join(f"{c:>{width}}" for c in cases)
    print(header)
    for m in result["models"]:
        label = f"sigx {m['model']} ({'causal' if m['causal'] else 'non-causal'}, {m['kind']})"
        print(f"{label:<58}" + "".join(f"{rows[c]['sigx'][m['model']]:>{width}.4f}" for c in cases))
    for label in rows[cases[0]]["tools"]:
        print(f"{label:<58}" + "".join(f"{rows[c]['tools'][label]['error']:>{width}.4f}" for c in cases))
    print(f"{'reference: the better tool, tuned per case (non-causal)':<58}" +
          "".join(f"{rows[c]['reference']:>{width}.4f}" for c in cases))
    print("\ntargets (every case; one configuration of every sigx model for all):")
    met_all = True
    for kind, causal in (("causal", True), ("non-causal", False)):
        for c in cases:
            candidates = {m["model"]: rows[c]["sigx"][m["model"]] for m in result["models"] if m["causal"] == causal}
            best = min(candidates, key=candidates.get)
            factor = (TARGET_CAUSAL_EXACT if c == "exact" else TARGET_CAUSAL) if causal else TARGET_NONCAUSAL
            target = factor * rows[c]["reference"]
            met = candidates[best] <= target
            met_all &= met
            print(f"  {c:<{width}} best {kind:<10} sigx {best:<18} {candidates[best]:.4f} <= {factor:g} x "
                  f"{rows[c]['reference']:.4f} ({rows[c]['reference_setting']}) = {target:.4f}  "
                  f"{'[met]' if met else '[NOT met]'}")
    print(f"\nall quality targets {'met' if met_all else 'NOT met'}")


if __name__ == "__main__":
    main()
