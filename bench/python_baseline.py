#!/usr/bin/python3
"""Python baseline for bench/bench_probes.cpp (Debian's python3-torch, PyTorch 1.13).

Trains the same three programs as dynfault's recipes (programs/fashion_mlp.cpp,
lenet_fashion.cpp, lstm_sine.cpp: same layers, initialisation, optimizer and options, data
subset sizes, validation split, batch size and epochs) with the same recording at the same
cadence, written the way a careful PyTorch user would write it: forward hooks on the activation
modules, torch.autograd.grad double backward for Hessian-vector products, optimizer.state by
parameter, one batched SQLite transaction per trace into a table shaped like dynfault's
(integer metric keys, WITHOUT ROWID). One trace = train + store, as in bench_probes.

Configurations (as bench_probes): off (loss and metric curves only), default (gradients,
weights and update ratios, activations, optimizer state and mean step time every epoch;
curvature off), curv2 (default + curvature every 2 epochs and at the last), all (every family
every epoch, step time every step). Rounds are interleaved (the order rotates), medians of wall
and CPU time are reported.

    OMP_NUM_THREADS=1 /usr/bin/python3 bench/python_baseline.py [--reps N] [--fresh-reps M]
        [--programs a,b] [--json PATH]

--fresh-reps also times one interpreter per trace (as earlier tools' generation scripts run:
a script per mutant), which adds interpreter start, `import torch` and data loading to every
trace; dynfault's long-lived workers pay those once per worker.
"""
import argparse
import gzip
import json
import math
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

FASHION = os.environ.get("DYNFAULT_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")
NEAR_ZERO = 1e-5
SATURATION = 5.0

# Probe settings: dynfault's ProbeOptions defaults (runner/trainer.h).
PROBE_BATCH = 256
CURVATURE_BATCH = 64
CURVATURE_ITERATIONS = 20  # k: Lanczos steps per operator at most
CURVATURE_TOL = 1e-3  # Lanczos stops once the wanted Ritz residuals are within tol of rho
HUTCHINSON_SAMPLES = 1  # the Lanczos start is the one Rademacher sample
MAX_POINTS = 50  # ProbeOptions::max_points: records per family and run at most

CONFIGS = {
    # family -> every k epochs (0 = off); timing: None, "epoch" (mean step time) or "step"
    "off": dict(grad=0, weight=0, act=0, opt=0, curv=0, timing=None),
    "default": dict(grad=1, weight=1, act=1, opt=1, curv=0, timing="epoch"),
    "curv2": dict(grad=1, weight=1, act=1, opt=1, curv=2, timing="epoch"),
    "all": dict(grad=1, weight=1, act=1, opt=1, curv=1, timing="step"),
}


def at_epoch(every, epoch, last):
    return every > 0 and (epoch % every == 0 or last)


# --- data ---------------------------------------------------------------------------------------

_idx_cache = {}


def read_idx(path):
    """Decompressed IDX array, cached per process (as dynfault's worker caches it)."""
    if path not in _idx_cache:
        with gzip.open(path, "rb") as f:
            raw = f.read()
        rank = raw[3]
        dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
        _idx_cache[path] = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)
    return _idx_cache[path]


def stratified(labels, limit):
    """The first samples of each class in stored order, in proportion to its share."""
    n = len(labels)
    if limit <= 0 or limit >= n:
        return np.arange(n)
    classes, counts = np.unique(labels, return_counts=True)
    quota = counts * limit / n
    take = np.floor(quota).astype(int)
    for i in np.argsort(-(quota - take))[: limit - take.sum()]:
        take[i] += 1
    keep = [np.flatnonzero(labels == c)[:t] for c, t in zip(classes, take)]
    return np.sort(np.concatenate(keep))


def fashion(prefix, limit):
    labels = read_idx(f"{FASHION}/{prefix}-labels-idx1-ubyte.gz")
    keep = stratified(labels, limit)
    images = read_idx(f"{FASHION}/{prefix}-images-idx3-ubyte.gz")[keep]
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    return x, torch.from_numpy(labels[keep].astype(np.int64))


def split_val(x, y, fraction, classes):
    """Validation = the last share of every class (of everything for regression)."""
    if classes:
        val = np.concatenate([np.flatnonzero(y.numpy() == c)[-round(fraction * int((y == c).sum())):]
                              for c in range(10)])
    else:
        val = np.arange(len(y) - round(fraction * len(y)), len(y))
    mask = np.ones(len(y), dtype=bool)
    mask[val] = False
    return x[mask], y[mask], x[val], y[val]


def sine(n, seed, seq_len=20, period=125.66370614359172, noise=0.05):
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, period, size=(n, 1))
    t = phase + np.arange(seq_len + 1)
    clean = np.sin(2 * np.pi * t / period)
    x = clean[:, :seq_len] + noise * rng.standard_normal((n, seq_len))
    return torch.tensor(x, dtype=torch.float32), torch.tensor(clean[:, seq_len:], dtype=torch.float32)


def data(program, seed):
    if program == "fashion_mlp":
        x, y = fashion("train", 6000)
        return split_val(x, y, 0.1, True) + fashion("t10k", 1000)
    if program == "lenet_fashion":
        x, y = fashion("train", 8000)
        return split_val(x, y, 0.1, True) + fashion("t10k", 1000)
    x, y = sine(1000, seed)
    xt, yt = sine(200, seed + 1)
    return split_val(x, y, 0.2, False) + (xt, yt)


# --- models, as the dynfault recipes --------------------------------------------------------------

class LastStepLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 51, num_layers=2, batch_first=True)

    def forward(self, x):
        return self.lstm(x.unsqueeze(-1))[0][:, -1]


def build(program):
    if program == "fashion_mlp":
        model = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Dropout(0.2),
                              nn.Linear(128, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))
        opt = lambda p: torch.optim.RMSprop(p, lr=1e-3, alpha=0.9, eps=1e-7)
        return model, opt, 128, 5, True
    if program == "lenet_fashion":
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2, 2),
                              nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2), nn.Flatten(),
                              nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                              nn.Linear(84, 10))
        opt = lambda p: torch.optim.SGD(p, lr=0.1)
        return model, opt, 64, 3, True
    model = nn.Sequential(LastStepLSTM(), nn.Linear(51, 1))
    return model, lambda p: torch.optim.Adam(p, lr=5e-3), 32, 5, False


def init_xavier(model):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Linear, nn.Conv2d)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)


# --- probes ----------------------------------------------------------------------------------------

def grad_stats(params, rec, at, ts):
    g_sq = nonfinite = zeros = numel = 0.0
    first = last = float("nan")
    have_first = False
    for name, p in params:
        g = p.grad
        if g is None:
            continue
        ga = g.abs()
        norm, mean_abs, max_abs, z, nf = torch.stack(
            [g.norm().double(), ga.mean().double(), ga.max().double(), (g == 0).sum().double(),
             (~torch.isfinite(g)).sum().double()]).tolist()
        k = f"grad/{name}/"
        rec += [(k + "norm", at, norm, ts), (k + "mean_abs", at, mean_abs, ts),
                (k + "max_abs", at, max_abs, ts), (k + "zero_frac", at, z / g.numel(), ts),
                (k + "nonfinite", at, nf, ts)]
        g_sq += norm * norm
        nonfinite += nf
        zeros += z
        numel += g.numel()
        if p.dim() >= 2:
            if not have_first:
                first = norm
            have_first = True
            last = norm
    rec += [("grad/global_norm", at, math.sqrt(g_sq), ts), ("grad/nonfinite", at, nonfinite, ts),
            ("grad/zero_frac", at, zeros / numel, ts), ("grad/first_norm", at, first, ts),
            ("grad/last_norm", at, last, ts),
            ("grad/first_last_ratio", at, first / last if last else float("nan"), ts)]


def weight_stats(params, rec, at, ts):
    flat = []
    for name, p in params:
        w = p.detach()
        wa = w.abs()
        vals = torch.stack([w.norm().double(), w.mean().double(), w.std(unbiased=False).double(),
                            wa.max().double(), (wa < NEAR_ZERO).sum().double() / w.numel()]).tolist()
        k = f"weight/{name}/"
        rec += [(k + s, at, v, ts) for s, v in
                zip(("norm", "mean", "std", "max_abs", "near_zero_frac"), vals)]
        flat.append(w.reshape(-1))
    a = torch.cat(flat)
    vals = torch.stack([(~torch.isfinite(a)).sum().double(), a.abs().max().double(),
                        a.mean().double(), a.std(unbiased=False).double()]).tolist()
    rec += [("weight/" + s, at, v, ts) for s, v in zip(("nonfinite", "max_abs", "mean", "std"), vals)]


def update_ratios(params, before, rec, at, ts):
    d_sq = b_sq = 0.0
    for (name, p), b in zip(params, before):
        d = (p.detach() - b).double().pow(2).sum().item()
        bb = b.double().pow(2).sum().item()
        rec.append((f"weight/{name}/update_ratio", at, math.sqrt(d) / math.sqrt(bb) if bb else float("inf"), ts))
        d_sq += d
        b_sq += bb
    rec.append(("weight/update_ratio", at, math.sqrt(d_sq) / math.sqrt(b_sq), ts))


def activation_stats(model, acts, x, rec, at, ts):
    stats = {}

    def hook(name, relu_like):
        def f(module, inputs, out):
            if name in stats:
                return
            o = out.double()
            dead = (o <= 0).double().mean() if relu_like else torch.zeros((), dtype=torch.double)
            sat = (inputs[0].abs() >= SATURATION).double().mean() if not relu_like else dead * 0
            stats[name] = (torch.stack([o.mean(), o.std(unbiased=False), o.abs().mean(), dead, sat]),
                           relu_like)
        return f

    handles = [m.register_forward_hook(hook(n, isinstance(m, nn.ReLU))) for n, m in acts]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    dead_max = sat_max = mean_abs_max = float("nan")
    std_sum = 0.0
    for name, (s, relu_like) in stats.items():
        mean, std, mean_abs, dead, sat = s.tolist()
        rec += [(f"act/{name}/mean", at, mean, ts), (f"act/{name}/std", at, std, ts)]
        if relu_like:
            rec.append((f"act/{name}/dead_frac", at, dead, ts))
            dead_max = dead if math.isnan(dead_max) else max(dead_max, dead)
        else:
            rec.append((f"act/{name}/sat_frac", at, sat, ts))
            sat_max = sat if math.isnan(sat_max) else max(sat_max, sat)
        mean_abs_max = mean_abs if math.isnan(mean_abs_max) else max(mean_abs_max, mean_abs)
        std_sum += std
    if stats:
        if not math.isnan(dead_max):
            rec.append(("act/dead_frac_max", at, dead_max, ts))
        if not math.isnan(sat_max):
            rec.append(("act/sat_frac_max", at, sat_max, ts))
        rec += [("act/mean_abs_max", at, mean_abs_max, ts),
                ("act/std_mean", at, std_sum / len(stats), ts)]


def optimizer_stats(opt, names, rec, at, ts):
    tot = {}
    eff_sum = eff_n = 0.0
    for group in opt.param_groups:
        lr = group["lr"]
        for p in group["params"]:
            st = opt.state.get(p)
            if not st:
                continue
            name = names[p]
            found = {}
            if "exp_avg_sq" in st:  # Adam
                step = float(st["step"])
                v = st["exp_avg_sq"]
                found["exp_avg_norm"] = st["exp_avg"]
                found["exp_avg_sq_norm"] = v
                eff = lr / ((v / (1 - group["betas"][1] ** step)).sqrt() + group["eps"])
            elif "square_avg" in st:  # RMSprop
                found["accum_norm"] = st["square_avg"]
                if st.get("momentum_buffer") is not None:
                    found["momentum_norm"] = st["momentum_buffer"]
                eff = lr / (st["square_avg"].sqrt() + group["eps"])
            elif st.get("momentum_buffer") is not None:  # SGD with momentum
                found["momentum_norm"] = st["momentum_buffer"]
                eff = None
            else:
                continue
            for key, t in found.items():
                sq = t.double().pow(2).sum().item()
                rec.append((f"opt/{name}/{key}", at, math.sqrt(sq), ts))
                tot[key] = tot.get(key, 0.0) + sq
            if eff is not None:
                s = eff.double().sum().item()
                rec.append((f"opt/{name}/eff_step_mean", at, s / eff.numel(), ts))
                eff_sum += s
                eff_n += eff.numel()
    for key, sq in tot.items():
        rec.append((f"opt/{key}", at, math.sqrt(sq), ts))
    if eff_n:
        rec.append(("opt/eff_step_mean", at, eff_sum / eff_n, ts))


def lanczos(op, n, gen, need_min):
    """Lanczos with full reorthogonalisation from a Rademacher start, as dynfault's
    runner/curvature.cpp lanczos_edges: the three-term recurrence, one classical Gram-Schmidt
    pass against the basis (a second when it cancels most of the vector), at most
    CURVATURE_ITERATIONS products, stopping once the Ritz residuals of the wanted edges are
    within CURVATURE_TOL of the spectral radius. Returns (max, min, residual, products,
    start Rayleigh quotient)."""
    steps = min(CURVATURE_ITERATIONS, n)
    V = torch.zeros(steps, n)
    V[0] = (torch.randint(0, 2, (n,), generator=gen).float() * 2 - 1) / math.sqrt(n)
    alpha, beta, scale, start = [], [], 0.0, None

    def ritz():
        m = len(alpha)
        T = torch.diag(torch.tensor(alpha, dtype=torch.float64))
        for i in range(m - 1):
            T[i, i + 1] = T[i + 1, i] = beta[i]
        theta, S = torch.linalg.eigh(T)
        r_max, r_min = beta[-1] * abs(S[m - 1, m - 1].item()), beta[-1] * abs(S[m - 1, 0].item())
        return theta[-1].item(), theta[0].item(), r_max, r_min

    for j in range(steps):
        q = V[j]
        w = op(q)
        a = torch.dot(q, w).item()
        if not math.isfinite(a):
            return float("nan"), float("nan"), float("nan"), j + 1, start
        start = a if j == 0 else start
        alpha.append(a)
        w = w - a * q
        if j > 0:
            w = w - beta[-1] * V[j - 1]
        basis = V[:j + 1]
        before = w.norm().item()
        w = w - basis.t().mv(basis.mv(w))
        if w.norm().item() < 0.7 * before:
            w = w - basis.t().mv(basis.mv(w))
        b = w.norm().item()
        if not math.isfinite(b):
            return float("nan"), float("nan"), float("nan"), j + 1, start
        scale = max(scale, abs(a), b)
        beta.append(b)
        if j + 1 == steps:
            break
        if b > 1.2e-6 * scale:
            if j >= 1:
                mx, mn, r_max, r_min = ritz()
                rho = max(abs(mx), abs(mn))
                if r_max <= CURVATURE_TOL * rho and (not need_min or r_min <= CURVATURE_TOL * rho):
                    break
            V[j + 1] = w / b
        else:  # an invariant subspace: restart orthogonally to the basis
            beta[-1] = 0.0
            r = torch.randn(n, generator=gen)
            r = r - basis.t().mv(basis.mv(r))
            r = r - basis.t().mv(basis.mv(r))
            V[j + 1] = r / r.norm()
    mx, mn, r_max, r_min = ritz()
    rho = max(abs(mx), abs(mn))
    res = max(r_max, r_min if need_min else 0.0) / rho if rho > 0 else 0.0
    return mx, mn, res, len(alpha), start


def stability(opt, params):
    """The optimizer's preconditioner D (None for SGD: D = lr) and its stability limit, as
    dynfault's runner/curvature.cpp stability_rule for the three programs' optimizers (plain
    SGD, RMSprop without momentum, Adam)."""
    group = opt.param_groups[0]
    lr = group["lr"]
    if isinstance(opt, torch.optim.SGD):
        return lr, None, 2.0
    d = []
    for p in params:
        st = opt.state.get(p)
        if not st:
            return lr, [], float("nan")
        if isinstance(opt, torch.optim.Adam):
            step = float(st["step"])
            v = st["exp_avg_sq"] / (1 - group["betas"][1] ** step)
            d.append((lr / (v.sqrt() + group["eps"])).reshape(-1))
            b1 = group["betas"][0]
            limit = (2 + 2 * b1) * (1 - b1 ** step) / (1 - b1)
        else:  # RMSprop
            d.append((lr / (st["square_avg"].sqrt() + group["eps"])).reshape(-1))
            limit = 2.0
    return lr, d, limit


class Curvature:
    """The Hessian's edges by Lanczos, the preconditioned sharpness for adaptive optimizers, and
    Hutchinson's trace from the Lanczos start (dynfault's CurvatureProbe with its defaults)."""

    def __init__(self, gen):
        self.gen = gen
        self.hvp_s = 0.0  # wall time of the last estimate's Hessian-vector products
        self.hvps = 0

    def estimate(self, loss, params, opt):
        self.hvp_s, self.hvps = 0.0, 0
        nan = float("nan")
        if not math.isfinite(loss.item()):
            return dict(lambda_max=nan, lambda_min=nan, trace=nan, residual=nan, ratio=nan,
                        precond=None, iterations=0)
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        pairs = [(p, g) for p, g in zip(params, grads) if g is not None]
        ps = [p for p, _ in pairs]
        g = torch.cat([gr.reshape(-1) for _, gr in pairs])
        n = g.numel()

        def hvp(v):
            start = time.perf_counter()
            hv = torch.autograd.grad(torch.dot(g, v), ps, retain_graph=True, allow_unused=True)
            out = torch.cat([torch.zeros(p.numel()) if h is None else h.reshape(-1)
                             for p, h in zip(ps, hv)])
            self.hvp_s += time.perf_counter() - start
            self.hvps += 1
            return out

        mx, mn, res, iterations, start = lanczos(hvp, n, self.gen, True)
        trace = start * n  # z^T H z for the Rademacher start z
        lr, d, limit = stability(opt, ps)
        precond = None
        if d is None:
            ratio = lr * mx / limit
        elif not d:
            ratio, precond = nan, nan
        else:
            root = torch.cat(d).sqrt()
            precond = lanczos(lambda u: root * hvp(root * u), n, self.gen, False)[0]
            ratio = precond / limit
        return dict(lambda_max=mx, lambda_min=mn, trace=trace, residual=res, ratio=ratio,
                    precond=precond, iterations=iterations)


def curvature_probe(model, curv, loss_fn, x, y, opt, rec, at, ts):
    start = time.perf_counter()
    was_training = model.training
    try:
        model.eval()
        with torch.enable_grad():
            loss = loss_fn(model(x[:CURVATURE_BATCH]), y[:CURVATURE_BATCH])
            c = curv.estimate(loss, [p for p in model.parameters() if p.requires_grad], opt)
    finally:
        model.train(was_training)
    lr = opt.param_groups[0]["lr"]
    rec += [("curv/lambda_max", at, c["lambda_max"], ts),
            ("curv/lambda_min", at, c["lambda_min"], ts),
            ("curv/trace", at, c["trace"], ts), ("curv/residual", at, c["residual"], ts),
            ("curv/lr_lambda", at, lr * c["lambda_max"], ts),
            ("curv/stability_ratio", at, c["ratio"], ts),
            ("curv/iterations", at, float(c["iterations"]), ts),
            ("curv/hvps", at, float(curv.hvps), ts),
            ("time/curvature_ms", at, 1000 * (time.perf_counter() - start), ts),
            ("time/curvature_hvp_ms", at, 1000 * curv.hvp_s, ts)]
    if c["precond"] is not None:
        rec.append(("curv/precond_sharpness", at, c["precond"], ts))


# --- training -------------------------------------------------------------------------------------

def evaluate(model, loss_fn, x, y, classes):
    was_training = model.training
    model.eval()
    loss_sum = correct = 0.0
    with torch.no_grad():
        outs = []
        for lo in range(0, len(x), 1024):
            out = model(x[lo:lo + 1024])
            loss_sum += loss_fn(out, y[lo:lo + 1024]).item() * len(out)
            outs.append(out)
    model.train(was_training)
    out = torch.cat(outs)
    if classes:
        metric = (out.argmax(1) == y).double().mean().item()
    else:
        metric = 1 - ((out - y) ** 2).sum().item() / ((y - y.mean()) ** 2).sum().item()
    return loss_sum / len(x), metric


def now_ms():
    return int(time.time() * 1000)


def train(program, config, seed):
    cfg = CONFIGS[config]
    torch.manual_seed(seed)
    xtr, ytr, xval, yval, xte, yte = data(program, seed)
    model, make_opt, bs, epochs, classes = build(program)
    if classes:
        init_xavier(model)
    opt = make_opt(model.parameters())
    loss_fn = F.cross_entropy if classes else F.mse_loss
    params = list(model.named_parameters())
    names = {p: n for n, p in params}
    acts = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.ReLU, nn.Sigmoid, nn.Tanh))]
    shuffle = torch.Generator().manual_seed(seed * 7919 + 3)
    probe_gen = torch.Generator().manual_seed(seed * 7919 + 4)
    curv = Curvature(torch.Generator().manual_seed(seed * 7919 + 5))
    n = len(xtr)
    px = py = None
    if cfg["act"] or cfg["curv"]:
        idx = torch.randperm(n, generator=probe_gen)[:PROBE_BATCH]
        px, py = xtr[idx], ytr[idx]
    rec = []
    step = 0
    batches = (n + bs - 1) // bs
    # Step timing every step, its period stretched to at most MAX_POINTS records per run as
    # dynfault's Cadence::capped does (ceil(steps / MAX_POINTS)).
    steps = epochs * batches
    step_every = -(-steps // MAX_POINTS) if steps > MAX_POINTS else 1
    for epoch in range(epochs):
        last_epoch = epoch == epochs - 1
        lr = opt.param_groups[0]["lr"]
        rec.append(("epoch/lr", epoch, lr, now_ms()))
        model.train()
        perm = torch.randperm(n, generator=shuffle)
        loss_sum = 0.0
        correct = 0.0
        ss_res = 0.0
        step_ms_sum = 0.0
        ys = []
        for b in range(batches):
            start = time.perf_counter()
            idx = perm[b * bs:(b + 1) * bs]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad()
            out = model(xb)
            loss = loss_fn(out, yb)
            loss.backward()
            lv = loss.item()
            if classes:
                correct += (out.argmax(1) == yb).sum().item()
            else:
                ss_res += ((out.detach() - yb) ** 2).sum().item()
                ys.append(yb)
            loss_sum += lv * len(yb)
            probe_start = time.perf_counter()
            end_of_epoch = b == batches - 1
            if end_of_epoch and at_epoch(cfg["grad"], epoch, last_epoch):
                grad_stats(params, rec, epoch, now_ms())
            before = None
            if end_of_epoch and at_epoch(cfg["weight"], epoch, last_epoch):
                before = [p.detach().clone() for _, p in params]
            probe_s = time.perf_counter() - probe_start
            opt.step()
            ts = now_ms()
            rec.append(("train/loss", step, lv, ts))
            step_ms = 1000 * (time.perf_counter() - start - probe_s)
            step_ms_sum += step_ms
            if cfg["timing"] == "step" and step % step_every == 0:
                rec.append(("time/step_ms", step, step_ms, ts))
            if before is not None:
                update_ratios(params, before, rec, epoch, now_ms())
            step += 1
        ts = now_ms()
        rec.append(("epoch/train_loss", epoch, loss_sum / n, ts))
        if classes:
            rec.append(("epoch/train_metric", epoch, correct / n, ts))
        else:
            yall = torch.cat(ys)
            rec.append(("epoch/train_metric", epoch,
                        1 - ss_res / ((yall - yall.mean()) ** 2).sum().item(), ts))
        vl, vm = evaluate(model, loss_fn, xval, yval, classes)
        rec += [("epoch/val_loss", epoch, vl, ts), ("epoch/val_metric", epoch, vm, ts)]
        if at_epoch(cfg["weight"], epoch, last_epoch):
            weight_stats(params, rec, epoch, now_ms())
        if at_epoch(cfg["act"], epoch, last_epoch) and acts:
            activation_stats(model, acts, px, rec, epoch, now_ms())
        if at_epoch(cfg["opt"], epoch, last_epoch):
            optimizer_stats(opt, names, rec, epoch, now_ms())
        if at_epoch(cfg["curv"], epoch, last_epoch):
            curvature_probe(model, curv, loss_fn, px, py, opt, rec, epoch, now_ms())
        if cfg["timing"] == "epoch":
            rec.append(("time/step_ms", epoch, step_ms_sum / batches, now_ms()))
    tl, tm = evaluate(model, loss_fn, xte, yte, classes)
    ts = now_ms()
    rec += [("final/test_loss", epochs - 1, tl, ts), ("final/test_metric", epochs - 1, tm, ts)]
    return rec


# --- storage --------------------------------------------------------------------------------------

class Store:
    def __init__(self, path):
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS runs (run_uuid TEXT PRIMARY KEY, program_id TEXT,
                                             recipe_json TEXT, status TEXT);
            CREATE TABLE IF NOT EXISTS metric_keys (key_id INTEGER PRIMARY KEY, key TEXT UNIQUE);
            CREATE TABLE IF NOT EXISTS metrics (
              run_uuid TEXT NOT NULL, key_id INTEGER NOT NULL, step INTEGER NOT NULL,
              value REAL, timestamp INTEGER NOT NULL, is_nan INTEGER NOT NULL,
              PRIMARY KEY (run_uuid, key_id, step)) WITHOUT ROWID;""")
        self.keys = {}

    def key_id(self, key):
        if key not in self.keys:
            self.db.execute("INSERT OR IGNORE INTO metric_keys (key) VALUES (?)", (key,))
            self.keys[key] = self.db.execute("SELECT key_id FROM metric_keys WHERE key = ?",
                                             (key,)).fetchone()[0]
        return self.keys[key]

    def write(self, run_uuid, program, rec):
        self.db.execute("BEGIN IMMEDIATE")
        self.db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, 'FINISHED')",
                        (run_uuid, program, json.dumps({"program": program})))
        self.db.executemany(
            "INSERT OR REPLACE INTO metrics VALUES (?, ?, ?, ?, ?, ?)",
            [(run_uuid, self.key_id(k), s, None if math.isnan(v) else v, ts, int(math.isnan(v)))
             for k, s, v, ts in rec])
        self.db.execute("COMMIT")


def fresh_process_traces(args, tmp, out):
    """One interpreter per trace, as generation scripts of earlier tools run (a script per
    mutant): every trace also pays the interpreter start, `import torch` and reading the data."""
    print(f"one process per trace ({args.fresh_reps} interleaved rounds):")
    for program in args.programs.split(","):
        db = os.path.join(tmp, program + "_fresh.db")
        wall = {c: [] for c in CONFIGS}
        cpu = {c: [] for c in CONFIGS}
        for rep in range(args.fresh_reps):
            for k in range(len(CONFIGS)):
                c = list(CONFIGS)[(k + rep) % len(CONFIGS)]
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                w0 = time.perf_counter()
                subprocess.run([sys.executable, __file__, "--one", program, c, f"fresh{c}{rep}",
                                "--db", db], check=True)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                wall[c].append(time.perf_counter() - w0)
                cpu[c].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        out["fresh"][program] = {}
        for c in CONFIGS:
            w, cp = float(np.median(wall[c])), float(np.median(cpu[c]))
            out["fresh"][program][c] = {"wall_s": w, "cpu_s": cp}
            print(f"{program:14} {c:8} {w:9.3f} {cp:9.3f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--fresh-reps", type=int, default=0,
                    help="also time one process per trace, this many rounds (0 = skip)")
    ap.add_argument("--programs", default="fashion_mlp,lenet_fashion,lstm_sine")
    ap.add_argument("--json", default="")
    ap.add_argument("--one", nargs=3, metavar=("PROGRAM", "CONFIG", "RUN"),
                    help=argparse.SUPPRESS)  # internal: one trace in this process
    ap.add_argument("--db", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        program, config, run = args.one
        Store(args.db).write(run, program, train(program, config, 1))
        return
    tmp = tempfile.mkdtemp(prefix="python_baseline_")
    names = list(CONFIGS)
    out = {"programs": {}, "fresh": {}, "torch": torch.__version__}
    print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"{args.reps} interleaved rounds per program; one trace = train + write to SQLite")
    print(f"{'program':14} {'probes':8} {'wall_s':>9} {'cpu_s':>9} {'points':>7} "
          f"{'overhead_wall':>13} {'overhead_cpu':>13}")
    for program in args.programs.split(","):
        store = Store(os.path.join(tmp, program + ".db"))
        store.write("warmup", program, train(program, "off", 1))
        wall = {c: [] for c in names}
        cpu = {c: [] for c in names}
        points = {}
        for rep in range(args.reps):
            for k in range(len(names)):
                c = names[(k + rep) % len(names)]
                w0, c0 = time.perf_counter(), time.process_time()
                rec = train(program, c, 1)
                store.write(f"{c}{rep}", program, rec)
                wall[c].append(time.perf_counter() - w0)
                cpu[c].append(time.process_time() - c0)
                points[c] = len(rec)
        med = lambda v: float(np.median(v))
        out["programs"][program] = {}
        for c in names:
            w, cp = med(wall[c]), med(cpu[c])
            out["programs"][program][c] = {"wall_s": w, "cpu_s": cp, "points": points[c]}
            print(f"{program:14} {c:8} {w:9.3f} {cp:9.3f} {points[c]:7d} "
                  f"{100 * (w / med(wall['off']) - 1):+12.1f}% {100 * (cp / med(cpu['off']) - 1):+12.1f}%",
                  flush=True)
    if args.fresh_reps > 0:
        fresh_process_traces(args, tmp, out)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
