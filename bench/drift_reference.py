"""The field's own line removal on the drift cases of bench/drift.sh: scipy.signal's
iirnotch and MNE-Python's notch_filter(method="spectrum_fit"), each over its usual
settings, scored like sigx's models (the relative error of the extracted total hum).

    /usr/bin/python3 bench/drift_reference.py OUT.json CASE=DIR [CASE=DIR ...]

Each DIR holds recordings NAME.wav with their truth in truth/NAME.wav (one channel per
hum component), as scripts/make_hum.sh writes them. For every case and setting the
extracted hum is the recording minus the tool's cleaned recording; its error is
sum (hum - true hum)^2 / sum (true hum)^2 over all samples of all the case's recordings
(0 is perfect, 1 is predicting no hum). Debian's interpreter (python3-scipy,
python3-mne): another python3 on PATH may lack them.
"""
import json
import sys
from pathlib import Path

import mne
import numpy as np
import scipy.io.wavfile
import scipy.signal

LINES = [50.0, 100.0, 150.0]


def read(path):
    rate, x = scipy.io.wavfile.read(path)
    x = np.asarray(x, dtype=np.float64)
    return float(rate), x.reshape(len(x), -1).T  # channels x samples


def notch_sos(rate, q):
    return np.vstack([scipy.signal.tf2sos(*scipy.signal.iirnotch(f, q, fs=rate)) for f in LINES])


def settings():
    """(label, causal, function(x, rate) -> cleaned x) for every setting tried."""
    out = []
    for q in (5, 10, 20, 30, 60):
        out.append((f"scipy iirnotch Q={q}, forward-backward", False,
                    lambda x, r, q=q: scipy.signal.sosfiltfilt(notch_sos(r, q), x)))
        out.append((f"scipy iirnotch Q={q}, causal", True,
                    lambda x, r, q=q: scipy.signal.sosfilt(notch_sos(r, q), x)))
    for window in (1, 2, 4):
        for width in (None, 2.0):
            label = f"MNE spectrum_fit {window} s windows, notch width {'default' if width is None else width}"
            out.append((label, False,
                        lambda x, r, w=window, nw=width: mne.filter.notch_filter(
                            x, r, LINES, method="spectrum_fit", filter_length=f"{w}s", notch_widths=nw,
                            verbose="error")))
    return out


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    out_file = Path(sys.argv[1])
    cases = {}
    for arg in sys.argv[2:]:
        name, _, folder = arg.partition("=")
        records = []
        for mix_file in sorted(Path(folder).glob("*.wav")):
            rate, mix = read(mix_file)
            _, truth = read(Path(folder) / "truth" / mix_file.name)
            records.append((rate, mix[0], truth.sum(axis=0)))
        if not records:
            sys.exit(f"drift_reference.py: no recordings in {folder}")
        cases[name] = records
    result = {"tools": {"scipy": scipy.__version__, "mne": mne.__version__, "numpy": np.__version__}, "cases": {}}
    for name, records in cases.items():
        rows = []
        for label, causal, clean in settings():
            err = power = 0.0
            for rate, mix, hum in records:
                extracted = mix - clean(mix, rate)
                err += float(np.sum((extracted - hum) ** 2))
                power += float(np.sum(hum ** 2))
            rows.append({"setting": label, "causal": causal, "error": err / power})
        result["cases"][name] = rows
        print(f"{name}: " + ", ".join(f"{r['setting']}: {r['error']:.4g}" for r in rows), file=sys.stderr)
    out_file.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
