"""The python plugin's example model (and what `sigx check` runs it with): a two-pole
resonator at each component's frequency, with a gain per component fitted by least
squares on the training records. Causal, so it streams; it saves its gains.

    [models.mine]
    plugin = "python"
    script = "my_model.py"      # a copy of this file, edited
    class = "Model"
    params = ["bandwidth = 0.5"]

A class needs predict(x, rate, components) -> components x samples, or process(block)
(then predict is the stream over the whole input); fit, reset, save and load are optional.
"""
import json
from pathlib import Path

import numpy as np


class Model:
    def __init__(self, bandwidth=0.5):
        if not bandwidth > 0:
            raise ValueError(f"bandwidth must be positive (Hz), not {bandwidth}")
        self.bandwidth = float(bandwidth)
        self.gains = None

    # Streaming: reset(rate, components) before a stream, then process(block) per block.
    def reset(self, rate, components):
        r = np.exp(-np.pi * self.bandwidth / rate)
        w = 2 * np.pi * np.array([c["frequency"] for c in components]) / rate
        self.a1, self.a2, self.b0 = 2 * r * np.cos(w), -r * r, 1 - r
        self.y1 = np.zeros(len(components))
        self.y2 = np.zeros(len(components))
        if self.gains is None:
            self.gains = np.array([1.0 / c["gain"] for c in components])

    def process(self, block):
        out = np.empty((len(self.y1), block.shape[1]))
        for n, x in enumerate(block[0]):
            y = self.b0 * x + self.a1 * self.y1 + self.a2 * self.y2
            self.y2, self.y1 = self.y1, y
            out[:, n] = y
        return out * self.gains[:, None]

    def fit(self, records):
        self.gains = None
        num, den = 0.0, 0.0
        for r in records:
            self.reset(r["rate"], r["components"])
            self.gains = np.ones(len(r["components"]))
            y = self.process(r["x"])
            num = num + np.sum(y * r["truth"], axis=1)
            den = den + np.sum(y * y, axis=1)
        self.gains = np.where(den > 0, num / np.where(den > 0, den, 1), 0.0)

    def save(self, folder):
        Path(folder, "gains.json").write_text(json.dumps([float(g).hex() for g in self.gains]))

    def load(self, folder):
        self.gains = np.array([float.fromhex(g) for g in json.loads(Path(folder, "gains.json").read_text())])
