"""scipy.signal's notch filter as a sigx model, the way people remove hum in Python.

Each component is what a notch at its frequency takes out of the recording: the input
minus the notched input (scipy.signal.iirnotch, quality factor ``q``: bandwidth f/q),
divided by the component's gain in the mix (the task's ``gain``).

- ``Notch``: causal (scipy.signal.lfilter, with its state kept across blocks), so it
  also streams with ``sigx stream``;
- ``NotchZeroPhase``: forward-backward (scipy.signal.filtfilt), no phase lag, not causal.

Both save their settings (save/load), so ``sigx apply`` and ``from =`` can reuse a run.
"""
import json
from pathlib import Path

import numpy as np
import scipy.signal


class _Notches:
    def __init__(self, q=30.0):
        if not q > 0:
            raise ValueError(f"q must be positive, not {q}")
        self.q = float(q)

    def coefficients(self, rate, components):
        return [scipy.signal.iirnotch(c["frequency"], self.q, fs=rate) for c in components]

    def save(self, folder):
        Path(folder, "notch.json").write_text(json.dumps({"q": self.q}))

    def load(self, folder):
        self.q = float(json.loads(Path(folder, "notch.json").read_text())["q"])


class Notch(_Notches):
    """Causal iirnotch per component (scipy.signal.lfilter)."""

    def predict(self, x, rate, components):
        return np.array([(x[0] - scipy.signal.lfilter(b, a, x[0])) / c["gain"]
                         for (b, a), c in zip(self.coefficients(rate, components), components)])

    def reset(self, rate, components):
        self.filters = self.coefficients(rate, components)
        self.gains = [c["gain"] for c in components]
        self.state = [np.zeros(max(len(a), len(b)) - 1) for b, a in self.filters]

    def process(self, block):
        out = np.empty((len(self.filters), block.shape[1]))
        for k, (b, a) in enumerate(self.filters):
            notched, self.state[k] = scipy.signal.lfilter(b, a, block[0], zi=self.state[k])
            out[k] = (block[0] - notched) / self.gains[k]
        return out


class NotchZeroPhase(_Notches):
    """The same notches forward and backward (scipy.signal.filtfilt): no lag, not causal."""

    def predict(self, x, rate, components):
        return np.array([(x[0] - scipy.signal.filtfilt(b, a, x[0])) / c["gain"]
                         for (b, a), c in zip(self.coefficients(rate, components), components)])
