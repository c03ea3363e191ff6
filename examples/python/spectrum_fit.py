"""MNE-Python's line-noise removal as a sigx model: mne.filter.notch_filter with
method="spectrum_fit" (sliding-window multitaper regression with Thomson's F test, as
CleanLine does). Each component is what removing its frequency alone takes out of the
recording, divided by its gain in the mix. Not causal: every window sees the samples on both sides of its centre.
"""
import json
from pathlib import Path

import mne
import numpy as np


class SpectrumFit:
    def __init__(self, window=2.0, notch_width=None):
        if not window > 0:
            raise ValueError(f"window must be a positive number of seconds, not {window}")
        self.window = float(window)
        self.notch_width = notch_width

    def predict(self, x, rate, components):
        out = []
        for c in components:
            cleaned = mne.filter.notch_filter(x[0], rate, [c["frequency"]], method="spectrum_fit",
                                              filter_length=f"{self.window}s", notch_widths=self.notch_width,
                                              verbose="error")
            out.append((x[0] - cleaned) / c["gain"])
        return np.array(out)

    def save(self, folder):
        Path(folder, "spectrum_fit.json").write_text(json.dumps({"window": self.window,
                                                                "notch_width": self.notch_width}))

    def load(self, folder):
        settings = json.loads(Path(folder, "spectrum_fit.json").read_text())
        self.window, self.notch_width = settings["window"], settings["notch_width"]
