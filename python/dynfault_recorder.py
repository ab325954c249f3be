"""Record a PyTorch training run as the per-epoch CSV that `dynfault diagnose --trace` reads.

One file, standard library and torch only, no install step:

    import sys; sys.path.insert(0, "path/to/dynfault/python")
    from dynfault_recorder import Recorder

    rec = Recorder("run.csv", model, optimizer, planned_epochs=30)
    for epoch in range(30):
        for i, (x, y) in enumerate(loader):
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            rec.before_step()          # gradients, before any clipping and optimizer.step()
            optimizer.step()
        rec.end_epoch(epoch, train_loss, train_metric, val_loss, val_metric, probe_x=x_probe)
    rec.finish("completed")            # or "nan_loss", "diverged", ... (docs/diagnose.md)

The probes are those of dynfault's C++ runner (runner/probes.h; keys in db/trace.h), computed
with the same tensor operations in the same precision, so that a run recorded here and the same
run trained by dynfault give the same features:

  grad/<p>/{norm,mean_abs,max_abs,zero_frac,nonfinite}, grad/global_norm, grad/nonfinite,
      grad/zero_frac, grad/first_norm, grad/last_norm, grad/first_last_ratio
      the gradients of the last before_step() of the epoch ("first"/"last": the first and last
      parameter of rank >= 2)
  weight/<p>/{norm,mean,std,max_abs,near_zero_frac}, weight/{nonfinite,max_abs,mean,std}
  weight/<p>/update_ratio, weight/update_ratio
      ||W_t - W_{t-1}|| / ||W_{t-1}|| over the last optimizer step of the epoch
  opt/<p>/... and opt/{exp_avg_norm,exp_avg_sq_norm,eff_step_mean,momentum_norm,accum_norm}
      Adam, AdamW, NAdam, Adamax, SGD (momentum), RMSprop, Adagrad, Adadelta state
  act/<layer>/{mean,std,dead_frac,sat_frac}, act/{dead_frac_max,sat_frac_max,mean_abs_max,
      std_mean}  on `probe_x` in eval mode, through forward hooks on the activation modules
      (ReLU, LeakyReLU, ELU, SELU, GELU: dead_frac = share of outputs <= 0; Sigmoid, Tanh:
      sat_frac = share of pre-activations with |x| >= 5; Hardsigmoid: |x| >= 3)
  curv/{lambda_max,trace,lr_lambda,iterations}  with curvature=True and `probe_x, probe_y`:
      the top Hessian eigenvalue by power iteration on Hessian-vector products (warm-started,
      stopped at a relative change <= tol or an eigen-residual <= sqrt(tol) |lambda|) and
      Hutchinson's trace with Rademacher vectors, on the first curvature_batch samples

Parameter and layer names are `model.named_parameters()` / `model.named_modules()` paths.
The file is rewritten (atomically) at every end_epoch, so an interrupted run leaves a readable
log of the epochs it finished.
"""

import math
import os
import tempfile

import torch
from torch import nn

__all__ = ["Recorder"]

_NEAR_ZERO = 1e-5
_SATURATION = 5.0
_HARD_SIGMOID_SATURATION = 3.0
_RELU_LIKE = (nn.ReLU, nn.LeakyReLU, nn.ELU, nn.SELU, nn.GELU)
_SATURATING = (nn.Sigmoid, nn.Tanh)
_HARD_SIGMOID = (nn.Hardsigmoid,)
_OUTCOMES = ("completed", "nan_loss", "diverged", "exception", "timeout", "crashed")


def _f(t):
    """A 0-d tensor as a Python float (double)."""
    return float(t.item())


def _sum_sq(t):
    return _f(t.detach().to(torch.float64).pow(2).sum())


def _number(v):
    if v is None:
        return ""
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return repr(v)


class Recorder:
    """Records one training run; see the module documentation for the protocol and the keys."""

    def __init__(self, path, model, optimizer=None, *, planned_epochs=0, family="",
                 program="", task="", gradients=True, weights=True, optimizer_state=True,
                 activations=True, curvature=False, loss_fn=None, curvature_batch=64,
                 curvature_iterations=20, curvature_tol=1e-2, hutchinson_samples=1, seed=0):
        self.path = path
        self.model = model
        self.optimizer = optimizer
        self.meta = {"planned_epochs": planned_epochs, "family": family, "program": program,
                     "task": task}
        self.families = {"gradients": gradients, "weights": weights,
                         "optimizer": optimizer_state and optimizer is not None,
                         "activations": activations, "curvature": curvature}
        self.loss_fn = loss_fn
        self.curvature_batch = curvature_batch
        self.curvature_iterations = curvature_iterations
        self.curvature_tol = curvature_tol
        self.hutchinson_samples = hutchinson_samples
        self._generator = torch.Generator().manual_seed(seed)
        self._v = None  # last top eigenvector (warm start)
        self.params = [(n, p) for n, p in model.named_parameters()]
        self.rows = {}  # epoch -> {key: value}
        self._grads = None
        self._before = None
        self.outcome = "completed"
        if curvature and loss_fn is None:
            raise ValueError("Recorder: curvature=True needs loss_fn(output, target)")

    # --- the training loop's calls -----------------------------------------------------------

    def before_step(self):
        """Call after loss.backward() and before clipping and optimizer.step(): keeps this step's
        gradients and a copy of the weights (the last call of an epoch is what end_epoch
        records)."""
        with torch.no_grad():
            if self.families["gradients"]:
                self._grads = [(n, p.grad.detach().clone() if p.grad is not None else None, p.dim())
                               for n, p in self.params]
            if self.families["weights"]:
                self._before = [p.detach().clone() for _, p in self.params]

    def end_epoch(self, epoch, train_loss, train_metric=None, val_loss=None, val_metric=None,
                  probe_x=None, probe_y=None, lr=None):
        """Records epoch `epoch` (0-based): its curves, then the probes of the state after the
        epoch's last step. Call it before a scheduler's step (the learning rate in effect is read
        from the optimizer's first parameter group unless `lr` is given). `probe_x` (and
        `probe_y` for curvature) is a fixed batch, the same every epoch."""
        row = self.rows.setdefault(int(epoch), {})
        row["epoch/train_loss"] = train_loss
        row["epoch/train_metric"] = train_metric
        row["epoch/val_loss"] = val_loss
        row["epoch/val_metric"] = val_metric
        if lr is None and self.optimizer is not None:
            lr = self.optimizer.param_groups[0]["lr"]
        if lr is not None:
            row["epoch/lr"] = lr
        if self._grads is not None:
            self._record_gradients(row)
        if self.families["weights"]:
            self._record_weights(row)
            if self._before is not None:
                self._record_update_ratios(row)
        self._grads = None
        self._before = None
        if self.families["optimizer"]:
            self._record_optimizer(row)
        if self.families["activations"] and probe_x is not None:
            self._record_activations(row, probe_x)
        if self.families["curvature"] and probe_x is not None and probe_y is not None:
            self._record_curvature(row, probe_x, probe_y)
        self.write()

    def log(self, epoch, key, value):
        """Any other metric key of db/trace.h at `epoch` (e.g. final/test_metric)."""
        self.rows.setdefault(int(epoch), {})[key] = value

    def finish(self, outcome="completed"):
        """How training ended (completed, nan_loss, diverged, exception, timeout, crashed)."""
        if outcome not in _OUTCOMES:
            raise ValueError("Recorder.finish: outcome must be one of %s, got %r"
                             % (", ".join(_OUTCOMES), outcome))
        self.outcome = outcome
        self.write()

    # --- probes (runner/probes.cpp, operation for operation) -----------------------------------

    def _record_gradients(self, row):
        global_sq = nonfinite_total = zeros_total = numel_total = 0.0
        first = last = float("nan")
        have_first = False
        for name, g, dim in self._grads:
            if g is None:
                continue
            ga = g.abs()
            n = float(g.numel())
            s = torch.stack([g.norm().to(torch.float64), ga.mean().to(torch.float64),
                             ga.max().to(torch.float64), (g == 0).sum().to(torch.float64),
                             (~torch.isfinite(g)).sum().to(torch.float64)]).tolist()
            k = "grad/" + name + "/"
            row[k + "norm"], row[k + "mean_abs"], row[k + "max_abs"] = s[0], s[1], s[2]
            row[k + "zero_frac"], row[k + "nonfinite"] = s[3] / n, s[4]
            global_sq += s[0] * s[0]
            nonfinite_total += s[4]
            zeros_total += s[3]
            numel_total += n
            if dim >= 2:
                if not have_first:
                    first = s[0]
                have_first = True
                last = s[0]
        if numel_total == 0:
            return
        row["grad/global_norm"] = math.sqrt(global_sq)
        row["grad/nonfinite"] = nonfinite_total
        row["grad/zero_frac"] = zeros_total / numel_total
        row["grad/first_norm"] = first
        row["grad/last_norm"] = last
        row["grad/first_last_ratio"] = _ratio(first, last)

    def _record_weights(self, row):
        flat = []
        with torch.no_grad():
            for name, p in self.params:
                w = p.detach()
                wa = w.abs()
                n = float(w.numel())
                s = torch.stack([w.norm().to(torch.float64), w.mean().to(torch.float64),
                                 w.std(unbiased=False).to(torch.float64),
                                 wa.max().to(torch.float64),
                                 (wa < _NEAR_ZERO).sum().to(torch.float64) / n]).tolist()
                k = "weight/" + name + "/"
                row[k + "norm"], row[k + "mean"], row[k + "std"] = s[0], s[1], s[2]
                row[k + "max_abs"], row[k + "near_zero_frac"] = s[3], s[4]
                flat.append(w.reshape(-1))
            if not flat:
                return
            a = torch.cat(flat)
            s = torch.stack([(~torch.isfinite(a)).sum().to(torch.float64),
                             a.abs().max().to(torch.float64), a.mean().to(torch.float64),
                             a.std(unbiased=False).to(torch.float64)]).tolist()
        row["weight/nonfinite"], row["weight/max_abs"] = s[0], s[1]
        row["weight/mean"], row["weight/std"] = s[2], s[3]

    def _record_update_ratios(self, row):
        delta_sq = before_sq = 0.0
        with torch.no_grad():
            for (name, p), b in zip(self.params, self._before):
                d = _sum_sq(p.detach() - b)
                bs = _sum_sq(b)
                row["weight/" + name + "/update_ratio"] = _ratio(math.sqrt(d), math.sqrt(bs))
                delta_sq += d
                before_sq += bs
        if self.params:
            row["weight/update_ratio"] = _ratio(math.sqrt(delta_sq), math.sqrt(before_sq))

    def _record_optimizer(self, row):
        names = {id(p): n for n, p in self.params}
        sums = {"exp_avg_norm": 0.0, "exp_avg_sq_norm": 0.0, "momentum_norm": 0.0,
                "accum_norm": 0.0}
        has = set()
        eff_sum = eff_n = 0.0
        with torch.no_grad():
            for group in self.optimizer.param_groups:
                for p in group["params"]:
                    state = self.optimizer.state.get(p)
                    if not state or id(p) not in names:
                        continue
                    stats = _optimizer_state(self.optimizer, group, state)
                    if stats is None:
                        continue
                    k = "opt/" + names[id(p)] + "/"
                    for key in ("exp_avg_norm", "exp_avg_sq_norm", "momentum_norm", "accum_norm"):
                        t = stats.get(key)
                        if t is None:
                            continue
                        sq = _sum_sq(t)
                        row[k + key] = math.sqrt(sq)
                        sums[key] += sq
                        has.add(key)
                    eff = stats.get("eff_step")
                    if eff is not None:
                        total = _f(eff.to(torch.float64).sum())
                        n = float(eff.numel())
                        row[k + "eff_step_mean"] = total / n
                        eff_sum += total
                        eff_n += n
        for key in ("exp_avg_norm", "exp_avg_sq_norm"):
            if key in has:
                row["opt/" + key] = math.sqrt(sums[key])
        if eff_n > 0:
            row["opt/eff_step_mean"] = eff_sum / eff_n
        for key in ("momentum_norm", "accum_norm"):
            if key in has:
                row["opt/" + key] = math.sqrt(sums[key])

    def _record_activations(self, row, x):
        layers = []
        for name, m in self.model.named_modules():
            if isinstance(m, _RELU_LIKE):
                layers.append((name, m, 1))
            elif isinstance(m, _SATURATING):
                layers.append((name, m, 2))
            elif isinstance(m, _HARD_SIGMOID):
                layers.append((name, m, 3))
        if not layers:
            return
        stats = [None] * len(layers)

        def hook_for(i, kind):
            def hook(module, inputs, out):
                if stats[i] is not None:
                    return
                o = out.to(torch.float64)
                zero = torch.zeros((), dtype=torch.float64)
                threshold = _HARD_SIGMOID_SATURATION if kind == 3 else _SATURATION
                stats[i] = torch.stack([
                    o.mean(), o.std(unbiased=False), o.abs().mean(),
                    (o <= 0).to(torch.float64).mean() if kind == 1 else zero,
                    (inputs[0].abs() >= threshold).to(torch.float64).mean() if kind >= 2
                    else zero]).tolist()
            return hook

        handles = [m.register_forward_hook(hook_for(i, kind))
                   for i, (_, m, kind) in enumerate(layers)]
        training = self.model.training
        try:
            self.model.eval()
            with torch.no_grad():
                self.model(x)
        finally:
            for h in handles:
                h.remove()
            self.model.train(training)
        dead_max = sat_max = mean_abs_max = float("nan")
        std_sum = 0.0
        count = 0
        for (name, _, kind), s in zip(layers, stats):
            if s is None:
                continue  # not on the forward path
            k = "act/" + name + "/"
            row[k + "mean"], row[k + "std"] = s[0], s[1]
            mean_abs_max = _fmax(mean_abs_max, s[2])
            std_sum += s[1]
            count += 1
            if kind == 1:
                row[k + "dead_frac"] = s[3]
                dead_max = _fmax(dead_max, s[3])
            else:
                row[k + "sat_frac"] = s[4]
                sat_max = _fmax(sat_max, s[4])
        if count == 0:
            return
        if not math.isnan(dead_max):
            row["act/dead_frac_max"] = dead_max
        if not math.isnan(sat_max):
            row["act/sat_frac_max"] = sat_max
        row["act/mean_abs_max"] = mean_abs_max
        row["act/std_mean"] = std_sum / count

    def _record_curvature(self, row, x, y):
        n = min(self.curvature_batch, x.shape[0])
        params = [p for _, p in self.params if p.requires_grad]
        training = self.model.training
        try:
            self.model.eval()
            with torch.enable_grad():
                loss = self.loss_fn(self.model(x[:n]), y[:n])
                lam, trace, iterations = self._curvature(loss, params)
        finally:
            self.model.train(training)
        lr = self.optimizer.param_groups[0]["lr"] if self.optimizer is not None else float("nan")
        row["curv/lambda_max"] = lam
        row["curv/trace"] = trace
        row["curv/lr_lambda"] = lr * lam
        row["curv/iterations"] = float(iterations)

    def _curvature(self, loss, params):
        """runner/probes.cpp CurvatureProbe::estimate: power iteration and Hutchinson."""
        if not math.isfinite(_f(loss)):
            return float("nan"), float("nan"), 0
        grads = torch.autograd.grad(loss, params, create_graph=True, allow_unused=True)
        ps, flat = [], []
        curved = False
        for p, g in zip(params, grads):
            if g is None:
                continue
            ps.append(p)
            flat.append(g.reshape(-1))
            curved = curved or g.requires_grad
        if not curved:
            return 0.0, 0.0, 0
        g = torch.cat(flat)
        n = g.numel()

        def hvp(v):
            hv = torch.autograd.grad(g.dot(v), ps, retain_graph=True, allow_unused=True)
            return torch.cat([h.reshape(-1) if h is not None else torch.zeros_like(f)
                              for h, f in zip(hv, flat)])

        def dot64(a, b):
            return _f(a.to(torch.float64).dot(b.to(torch.float64)))

        if self._v is not None and self._v.numel() == n:
            v = self._v
        else:
            v = torch.randn(n, generator=self._generator, dtype=g.dtype)
        v = v / math.sqrt(dot64(v, v))
        lam = prev = float("nan")
        iterations = 0
        tol = self.curvature_tol
        for it in range(1, self.curvature_iterations + 1):
            hv = hvp(v).detach()
            lam = dot64(v, hv)
            iterations = it
            norm = math.sqrt(dot64(hv, hv))
            if not (norm > 0) or not math.isfinite(norm):
                break
            r = hv - lam * v
            eigenvector = math.sqrt(dot64(r, r)) <= math.sqrt(tol) * abs(lam)
            v = hv / norm
            if eigenvector or (it > 1 and abs(lam - prev) <= tol * abs(lam)):
                break
            prev = lam
        self._v = v if bool(torch.isfinite(v).all()) else None
        trace = 0.0
        for _ in range(self.hutchinson_samples):
            z = torch.randint(0, 2, (n,), generator=self._generator, dtype=g.dtype).mul_(2).sub_(1)
            trace += dot64(z, hvp(z).detach())
        return lam, trace / self.hutchinson_samples, iterations

    # --- the file ------------------------------------------------------------------------------

    def write(self):
        """Writes the CSV (docs/diagnose.md) beside its final name, then renames it."""
        first = ["epoch/train_loss", "epoch/train_metric", "epoch/val_loss", "epoch/val_metric",
                 "epoch/lr"]
        short = {"epoch/train_loss": "train_loss", "epoch/train_metric": "train_metric",
                 "epoch/val_loss": "val_loss", "epoch/val_metric": "val_metric",
                 "epoch/lr": "lr"}
        keys = set()
        for r in self.rows.values():
            keys.update(k for k, v in r.items() if v is not None)
        columns = [k for k in first if k in keys or k != "epoch/lr"]
        columns += sorted(k for k in keys if k not in first)
        lines = ["# dynfault per-epoch trace recorded by python/dynfault_recorder.py",
                 "# outcome: " + self.outcome]
        for k in ("planned_epochs", "family", "program", "task"):
            if self.meta[k]:
                lines.append("# %s: %s" % (k, self.meta[k]))
        lines.append(",".join(["epoch"] + [short.get(k, k) for k in columns]))
        for epoch in sorted(self.rows):
            r = self.rows[epoch]
            lines.append(",".join([str(epoch)] + [_number(r.get(k)) for k in columns]))
        directory = os.path.dirname(os.path.abspath(self.path))
        fd, tmp = tempfile.mkstemp(prefix=".dynfault-", suffix=".csv", dir=directory)
        try:
            with os.fdopen(fd, "w") as f:
                f.write("\n".join(lines) + "\n")
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def _ratio(a, b):
    """a / b in IEEE arithmetic, as the C++ probes compute it (x/0 = inf, 0/0 = nan)."""
    try:
        return a / b
    except ZeroDivisionError:
        return float("nan") if a == 0 or math.isnan(a) else math.copysign(float("inf"), a)


def _fmax(a, b):
    """C's fmax: a NaN operand is ignored."""
    if math.isnan(a):
        return b
    if math.isnan(b):
        return a
    return max(a, b)


def _rdiv(scalar, t):
    """scalar / t as LibTorch's C++ operator computes it (fill, then divide); Python's
    `scalar / t` multiplies by the reciprocal, which can differ in the last bit."""
    return torch.full_like(t, scalar).div_(t)


def _optimizer_state(optimizer, group, state):
    """The quantities runner/probes.cpp read_state takes from one parameter's state, or None."""
    lr = group["lr"]
    kind = type(optimizer).__name__

    def step_of():
        s = state.get("step", 0)
        return float(s.item()) if torch.is_tensor(s) else float(s)

    if kind in ("Adam", "AdamW", "NAdam"):
        if "exp_avg" not in state:
            return None
        beta2 = group["betas"][1]
        v = state["max_exp_avg_sq"] if group.get("amsgrad", False) else state["exp_avg_sq"]
        bc2 = 1 - math.pow(beta2, step_of())
        return {"exp_avg_norm": state["exp_avg"], "exp_avg_sq_norm": state["exp_avg_sq"],
                "eff_step": _rdiv(lr, (v / bc2).sqrt() + group["eps"])}
    if kind == "Adamax":
        if "exp_avg" not in state:
            return None
        return {"exp_avg_norm": state["exp_avg"], "accum_norm": state["exp_inf"],
                "eff_step": _rdiv(lr, state["exp_inf"])}
    if kind == "SGD":
        buf = state.get("momentum_buffer")
        return None if buf is None else {"momentum_norm": buf}
    if kind == "RMSprop":
        if "square_avg" not in state:
            return None
        out = {"accum_norm": state["square_avg"]}
        if group.get("momentum", 0) > 0 and state.get("momentum_buffer") is not None:
            out["momentum_norm"] = state["momentum_buffer"]
        avg = state["square_avg"]
        if group.get("centered", False):
            avg = avg - state["grad_avg"].pow(2)
        out["eff_step"] = _rdiv(lr, avg.sqrt() + group["eps"])
        return out
    if kind == "Adagrad":
        if "sum" not in state:
            return None
        clr = lr / (1 + max(step_of() - 1, 0) * group["lr_decay"])
        return {"accum_norm": state["sum"],
                "eff_step": _rdiv(clr, state["sum"].sqrt() + group["eps"])}
    if kind == "Adadelta":
        if "square_avg" not in state:
            return None
        eps = group["eps"]
        return {"accum_norm": state["square_avg"],
                "eff_step": lr * (state["acc_delta"] + eps).sqrt()
                / (state["square_avg"] + eps).sqrt()}
    return None
