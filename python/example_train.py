"""A small PyTorch training script recorded with dynfault_recorder (docs/diagnose.md).

An MLP (two hidden tanh layers) learns three interleaved spirals, generated here so that
nothing is downloaded; every epoch is recorded into a per-epoch CSV for `dynfault diagnose`.

    python3 python/example_train.py --out run.csv              # a healthy run
    python3 python/example_train.py --out bad.csv --lr 3.0     # a learning rate far too large
"""
import argparse
import math
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dynfault_recorder import Recorder  # noqa: E402


def spirals(n, classes, generator):
    x, y = [], []
    for c in range(classes):
        r = torch.linspace(0.05, 1.0, n)
        t = torch.linspace(c * 4.0, (c + 1) * 4.0, n) + 0.2 * torch.randn(n, generator=generator)
        x.append(torch.stack([r * torch.sin(t), r * torch.cos(t)], 1))
        y.append(torch.full((n,), c, dtype=torch.long))
    return torch.cat(x), torch.cat(y)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="the CSV to write")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    torch.manual_seed(a.seed)
    g = torch.Generator().manual_seed(a.seed)
    x, y = spirals(300, 3, g)
    perm = torch.randperm(x.shape[0], generator=g)
    x, y = x[perm], y[perm]
    xv, yv, x, y = x[:180], y[:180], x[180:], y[180:]
    model = nn.Sequential(nn.Linear(2, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(),
                          nn.Linear(64, 3))
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    rec = Recorder(a.out, model, opt, planned_epochs=a.epochs, family="mlp", task="multiclass")
    outcome = "completed"
    for epoch in range(a.epochs):
        model.train()
        order = torch.randperm(x.shape[0], generator=g)
        total, correct = 0.0, 0
        for i in range(0, x.shape[0], 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            loss.backward()
            rec.before_step()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        model.eval()
        with torch.no_grad():
            vo = model(xv)
            val_loss = F.cross_entropy(vo, yv).item()
            val_acc = float((vo.argmax(1) == yv).float().mean())
        train_loss = total / x.shape[0]
        rec.end_epoch(epoch, train_loss, correct / x.shape[0], val_loss, val_acc, probe_x=x[:256])
        if not math.isfinite(train_loss):
            outcome = "nan_loss"
            break
    rec.finish(outcome)
    print("wrote %s (%d epochs, %s)" % (a.out, epoch + 1, outcome))


if __name__ == "__main__":
    main()
