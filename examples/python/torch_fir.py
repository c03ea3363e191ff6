"""A small PyTorch model, trained in Python inside a sigx run: a bank of causal FIR
filters (torch.nn.Conv1d, one output channel per component, `taps` long), fitted by Adam
on the training records' truth, in float32 (a float64 convolution is 10x slower on a CPU). Learned and causal: it streams, keeping the last
taps - 1 samples between blocks, and saves its weights.
"""
from pathlib import Path

import numpy as np
import torch


class TorchFIR:
    def __init__(self, taps=512, steps=100, lr=0.05, seed=0):
        if taps < 1 or steps < 0:
            raise ValueError("taps must be at least 1 and steps not negative")
        self.taps, self.steps, self.lr, self.seed = int(taps), int(steps), float(lr), int(seed)
        self.conv = None

    def _filter(self, x):
        """x: one channel of samples, the taps - 1 before it first; returns components x samples."""
        with torch.no_grad():
            return self.conv(torch.from_numpy(np.asarray(x, dtype=np.float32))[None, None, :])[0].numpy()

    def fit(self, records):
        torch.manual_seed(self.seed)
        k = len(records[0]["components"])
        self.conv = torch.nn.Conv1d(1, k, self.taps, bias=False, dtype=torch.float32)
        torch.nn.init.zeros_(self.conv.weight)
        pad = np.zeros(self.taps - 1)
        xs = [torch.from_numpy(np.concatenate([pad, r["x"][0]]).astype(np.float32))[None, None, :] for r in records]
        ys = [torch.from_numpy(r["truth"].astype(np.float32))[None] for r in records]
        opt = torch.optim.Adam(self.conv.parameters(), lr=self.lr)
        for _ in range(self.steps):
            opt.zero_grad()
            loss = sum(torch.mean((self.conv(x) - y) ** 2) for x, y in zip(xs, ys)) / len(xs)
            loss.backward()
            opt.step()

    def predict(self, x, rate, components):
        return self._filter(np.concatenate([np.zeros(self.taps - 1), x[0]]))

    def reset(self, rate, components):
        self.history = np.zeros(self.taps - 1)

    def process(self, block):
        buffer = np.concatenate([self.history, block[0]])
        self.history = buffer[len(buffer) - (self.taps - 1):]
        return self._filter(buffer)

    def save(self, folder):
        torch.save(self.conv.state_dict(), Path(folder, "fir.pt"))

    def load(self, folder):
        # weights_only: tensors, never pickled objects (a saved run may come from anyone)
        weight = torch.load(Path(folder, "fir.pt"), weights_only=True)["weight"]
        self.conv = torch.nn.Conv1d(1, weight.shape[0], weight.shape[2], bias=False, dtype=torch.float32)
        self.conv.load_state_dict({"weight": weight})
        self.taps = weight.shape[2]
