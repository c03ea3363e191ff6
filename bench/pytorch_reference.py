#!/usr/bin/env python3
"""The reference configuration's training step in PyTorch, for a side-by-side throughput
figure: LSTM(context + 4 -> 128, 2 layers, dropout 0.2) + Linear(128 -> 1) on windows of
L = 50 steps, batch 16, Adam lr 0.01, MSE. Random inputs of the same shapes as sigx's
lstm.sequence batches: only the speed is measured here.

Prints one line: "pytorch windows_per_second=<x> threads=<n>".
"""
import argparse
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--window", type=int, default=50)
    ap.add_argument("--context", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--batch", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(a.context + 4, a.hidden, num_layers=2, batch_first=True, dropout=0.2)
            self.drop = torch.nn.Dropout(0.2)
            self.head = torch.nn.Linear(a.hidden, 1)

        def forward(self, x):
            h, _ = self.lstm(x)
            return self.head(self.drop(h[:, -1])).squeeze(1)

    net = Net()
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    x = torch.randn(a.steps, a.batch, a.window, a.context + 4)
    y = torch.randn(a.steps, a.batch)
    net.train()

    def step(i):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(x[i]), y[i])
        loss.backward()
        opt.step()

    for i in range(20):  # warm-up
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(i)
    dt = time.perf_counter() - t0
    print(f"pytorch windows_per_second={a.steps * a.batch / dt:.1f} threads={a.threads}")


if __name__ == "__main__":
    main()
