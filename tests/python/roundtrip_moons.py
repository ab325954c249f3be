"""The round trip of tests/runner/test_python_recorder.cpp, Python side.

Trains the catalogue program moons_mlp (Linear(100), ReLU, Linear(1), BCE with logits, L2
penalty on the weight matrices, Adam, the whole training set as one batch) from the data and
initial weights dynfault wrote into DIR, exactly as runner/trainer.cpp trains it, and records it
with python/dynfault_recorder.py into DIR/python.csv.

    python3 tests/python/roundtrip_moons.py DIR
"""
import array
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
from dynfault_recorder import Recorder  # noqa: E402


def load(directory, name, shape):
    values = array.array("f")
    with open(os.path.join(directory, name), "rb") as f:
        values.frombytes(f.read())
    return torch.tensor(values, dtype=torch.float32).reshape(shape)


class Net(nn.Module):
    def __init__(self, inputs, hidden):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(inputs, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.layers(x)


def accuracy(out, y):
    return float((out.reshape(-1) > 0).long().eq(y).sum().item()) / float(y.numel())


def main(directory):
    m = json.load(open(os.path.join(directory, "manifest.json")))
    torch.set_num_threads(1)
    x = load(directory, "x_train.bin", m["x_train"])
    y = load(directory, "y_train.bin", [m["x_train"][0]]).long()
    xv = load(directory, "x_val.bin", m["x_val"])
    yv = load(directory, "y_val.bin", [m["x_val"][0]]).long()
    net = Net(m["x_train"][1], m["hidden"])
    names = [n for n, _ in net.named_parameters()]
    if names != [p["name"] for p in m["params"]]:
        sys.exit("parameter names differ: %s vs %s" % (names, [p["name"] for p in m["params"]]))
    with torch.no_grad():
        for (_, p), spec in zip(net.named_parameters(), m["params"]):
            p.copy_(load(directory, spec["file"], spec["shape"]))
    o = m["optimizer"]
    opt = torch.optim.Adam(net.parameters(), lr=o["lr"], betas=(o["beta1"], o["beta2"]),
                           eps=o["eps"], weight_decay=o["weight_decay"])
    weights = [p for p in net.parameters() if p.dim() >= 2]
    l2 = m["l2"]

    def penalty():
        p = torch.zeros(())
        for w in weights:
            p = p + l2 * w.pow(2).sum()
        return p

    rec = Recorder(os.path.join(directory, "python.csv"), net, opt,
                   planned_epochs=m["epochs"], family="mlp", program="moons_mlp", task="binary")
    n = x.shape[0]
    for epoch in range(m["epochs"]):
        net.train()
        opt.zero_grad()
        out = net(x)
        loss = F.binary_cross_entropy_with_logits(out, y.float().unsqueeze(1)) + penalty()
        loss.backward()
        rec.before_step()
        opt.step()
        train_loss = loss.item() * float(n) / float(n)
        train_metric = accuracy(out.detach(), y)
        net.eval()
        with torch.no_grad():
            vo = net(xv)
            vl = F.binary_cross_entropy_with_logits(vo, yv.float().unsqueeze(1)).item()
            val_loss = vl * float(xv.shape[0]) / float(xv.shape[0]) + penalty().item()
            val_metric = accuracy(vo, yv)
        rec.end_epoch(epoch, train_loss, train_metric, val_loss, val_metric, probe_x=x)
    rec.finish("completed")


if __name__ == "__main__":
    main(sys.argv[1])
