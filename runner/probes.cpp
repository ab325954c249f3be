#include "runner/probes.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

#include "common/check.h"
#include "common/clock.h"
#include "programs/recipe.h"
#include "runner/optimizers.h"
#include "runner/trainer.h"

namespace dynfault::runner {

namespace probes {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double to_double(const torch::Tensor& t) { return t.item<double>(); }

/// Sum of squares in double precision (norms of large tensors in float lose digits).
double sum_sq(const torch::Tensor& t) { return to_double(t.to(torch::kDouble).pow(2).sum()); }

}  // namespace

// --- gradients and weights ----------------------------------------------------------------------

void record_gradients(const std::vector<NamedParam>& params, Recorder& rec, int64_t step,
                      int64_t ts) {
  torch::NoGradGuard no_grad;
  double global_sq = 0, nonfinite_total = 0, zeros_total = 0, numel_total = 0;
  double first_norm = kNaN, last_norm = kNaN;
  bool have_first = false;
  for (const auto& p : params) {
    const torch::Tensor g = p.tensor.grad();
    if (!g.defined()) continue;
    const torch::Tensor ga = g.abs();
    const auto n = static_cast<double>(g.numel());
    const torch::Tensor s = torch::stack(
        {g.norm().to(torch::kDouble), ga.mean().to(torch::kDouble), ga.max().to(torch::kDouble),
         (g == 0).sum().to(torch::kDouble), (~torch::isfinite(g)).sum().to(torch::kDouble)});
    const auto a = s.accessor<double, 1>();
    const std::string k = "grad/" + p.name + "/";
    rec.add(k + "norm", step, a[0], ts);
    rec.add(k + "mean_abs", step, a[1], ts);
    rec.add(k + "max_abs", step, a[2], ts);
    rec.add(k + "zero_frac", step, a[3] / n, ts);
    rec.add(k + "nonfinite", step, a[4], ts);
    global_sq += a[0] * a[0];
    nonfinite_total += a[4];
    zeros_total += a[3];
    numel_total += n;
    if (p.tensor.dim() >= 2) {
      if (!have_first) first_norm = a[0];
      have_first = true;
      last_norm = a[0];
    }
  }
  if (numel_total == 0) return;
  rec.add("grad/global_norm", step, std::sqrt(global_sq), ts);
  rec.add("grad/nonfinite", step, nonfinite_total, ts);
  rec.add("grad/zero_frac", step, zeros_total / numel_total, ts);
  rec.add("grad/first_norm", step, first_norm, ts);
  rec.add("grad/last_norm", step, last_norm, ts);
  // Vanishing (<< 1) or exploding (>> 1) gradients between the first and last weight tensor.
  rec.add("grad/first_last_ratio", step, first_norm / last_norm, ts);
}

void record_weights(const std::vector<NamedParam>& params, Recorder& rec, int64_t step,
                    int64_t ts) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> flat;
  for (const auto& p : params) {
    const torch::Tensor w = p.tensor.detach();
    const torch::Tensor wa = w.abs();
    const auto n = static_cast<double>(w.numel());
    const torch::Tensor s =
        torch::stack({w.norm().to(torch::kDouble), w.mean().to(torch::kDouble),
                      w.std(/*unbiased=*/false).to(torch::kDouble), wa.max().to(torch::kDouble),
                      (wa < kNearZero).sum().to(torch::kDouble) / n});
    const auto a = s.accessor<double, 1>();
    const std::string k = "weight/" + p.name + "/";
    rec.add(k + "norm", step, a[0], ts);
    rec.add(k + "mean", step, a[1], ts);
    rec.add(k + "std", step, a[2], ts);
    rec.add(k + "max_abs", step, a[3], ts);
    rec.add(k + "near_zero_frac", step, a[4], ts);
    flat.push_back(w.reshape({-1}));
  }
  if (flat.empty()) return;
  const torch::Tensor all = torch::cat(flat);
  const torch::Tensor s = torch::stack(
      {(~torch::isfinite(all)).sum().to(torch::kDouble), all.abs().max().to(torch::kDouble),
       all.mean().to(torch::kDouble), all.std(/*unbiased=*/false).to(torch::kDouble)});
  const auto a = s.accessor<double, 1>();
  rec.add("weight/nonfinite", step, a[0], ts);
  rec.add("weight/max_abs", step, a[1], ts);
  rec.add("weight/mean", step, a[2], ts);
  rec.add("weight/std", step, a[3], ts);
}

std::vector<torch::Tensor> snapshot(const std::vector<NamedParam>& params) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> out;
  out.reserve(params.size());
  for (const auto& p : params) out.push_back(p.tensor.detach().clone());
  return out;
}

void record_update_ratios(const std::vector<NamedParam>& params,
                          const std::vector<torch::Tensor>& before, Recorder& rec, int64_t step,
                          int64_t ts) {
  DYNFAULT_CHECK(params.size() == before.size(), "record_update_ratios(): ", params.size(),
                 " parameters but ", before.size(), " copies");
  torch::NoGradGuard no_grad;
  double delta_sq = 0, before_sq = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    const double d = sum_sq(params[i].tensor.detach() - before[i]);
    const double b = sum_sq(before[i]);
    rec.add("weight/" + params[i].name + "/update_ratio", step, std::sqrt(d) / std::sqrt(b), ts);
    delta_sq += d;
    before_sq += b;
  }
  if (!params.empty())
    rec.add("weight/update_ratio", step, std::sqrt(delta_sq) / std::sqrt(before_sq), ts);
}

// --- optimizer state ----------------------------------------------------------------------------

namespace {

/// Per-tensor optimizer quantities; absent ones stay undefined.
struct OptStats {
  torch::Tensor exp_avg, exp_avg_sq, momentum, accum;
  torch::Tensor eff_step;  // per-element effective step
};

/// Reads the state of one parameter whatever the optimizer; false when it holds none (yet).
bool read_state(const torch::optim::OptimizerParamState& st,
                const torch::optim::OptimizerOptions& opts, OptStats& out) {
  namespace optim = torch::optim;
  const double lr = opts.get_lr();
  const auto adam_like = [&](const torch::Tensor& m, const torch::Tensor& v, int64_t t,
                             double beta2, double eps) {
    out.exp_avg = m;
    out.exp_avg_sq = v;
    const double bc2 = 1 - std::pow(beta2, static_cast<double>(t));
    out.eff_step = lr / ((v / bc2).sqrt() + eps);
  };
  if (const auto* s = dynamic_cast<const optim::AdamParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::AdamOptions&>(opts);
    const torch::Tensor& v = o.amsgrad() ? s->max_exp_avg_sq() : s->exp_avg_sq();
    adam_like(s->exp_avg(), v, s->step(), std::get<1>(o.betas()), o.eps());
    out.exp_avg_sq = s->exp_avg_sq();
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::AdamWParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::AdamWOptions&>(opts);
    const torch::Tensor& v = o.amsgrad() ? s->max_exp_avg_sq() : s->exp_avg_sq();
    adam_like(s->exp_avg(), v, s->step(), std::get<1>(o.betas()), o.eps());
    out.exp_avg_sq = s->exp_avg_sq();
    return true;
  }
  if (const auto* s = dynamic_cast<const NAdamParamState*>(&st)) {
    const auto& o = dynamic_cast<const NAdamOptions&>(opts);
    adam_like(s->exp_avg(), s->exp_avg_sq(), s->step(), std::get<1>(o.betas()), o.eps());
    return true;
  }
  if (const auto* s = dynamic_cast<const AdamaxParamState*>(&st)) {
    out.exp_avg = s->exp_avg();
    out.accum = s->exp_inf();
    out.eff_step = lr / s->exp_inf();
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::SGDParamState*>(&st)) {
    if (!s->momentum_buffer().defined()) return false;
    out.momentum = s->momentum_buffer();
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::RMSpropParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::RMSpropOptions&>(opts);
    out.accum = s->square_avg();
    if (s->momentum_buffer().defined() && o.momentum() > 0) out.momentum = s->momentum_buffer();
    const torch::Tensor avg =
        o.centered() ? s->square_avg() - s->grad_avg().pow(2) : s->square_avg();
    out.eff_step = lr / (avg.sqrt() + o.eps());
    return true;
  }
  if (const auto* s = dynamic_cast<const optim::AdagradParamState*>(&st)) {
    const auto& o = dynamic_cast<const optim::AdagradOptions&>(opts);
    out.accum = s->sum();
    // LibTorch: clr = lr / (1 + (step - 1) * lr_decay) at the step just taken.
    const double clr =
        lr / (1 + static_cast<double>(std::max<int64_t>(s->step() - 1, 0)) * o.lr_decay());
    out.eff_step = clr / (s->sum().sqrt() + o.eps());
    return true;
  }
  if (const auto* s = dynamic_cast<const AdadeltaParamState*>(&st)) {
    const auto& o = dynamic_cast<const AdadeltaOptions&>(opts);
    out.accum = s->square_avg();
    out.eff_step = lr * (s->acc_delta() + o.eps()).sqrt() / (s->square_avg() + o.eps()).sqrt();
    return true;
  }
  return false;
}

}  // namespace

void record_optimizer(const torch::optim::Optimizer& optimizer,
                      const std::vector<NamedParam>& params, Recorder& rec, int64_t step,
                      int64_t ts) {
  torch::NoGradGuard no_grad;
  std::map<const c10::TensorImpl*, const std::string*> names;
  for (const auto& p : params) names[p.tensor.unsafeGetTensorImpl()] = &p.name;
  // Sums of squares for the global norms, and eff_step sum and element count for its mean.
  double m_sq = 0, v_sq = 0, mom_sq = 0, acc_sq = 0, eff_sum = 0, eff_n = 0;
  bool has_m = false, has_v = false, has_mom = false, has_acc = false;
  const auto& state = optimizer.state();
  for (const auto& group : optimizer.param_groups()) {
    for (const auto& p : group.params()) {
      auto it = state.find(c10::guts::to_string(p.unsafeGetTensorImpl()));
      auto name = names.find(p.unsafeGetTensorImpl());
      if (it == state.end() || name == names.end()) continue;
      OptStats s;
      if (!read_state(*it->second, group.options(), s)) continue;
      const std::string k = "opt/" + *name->second + "/";
      const auto norm_of = [&](const torch::Tensor& t, const char* key, double& total, bool& has) {
        if (!t.defined()) return;
        const double sq = sum_sq(t);
        rec.add(k + key, step, std::sqrt(sq), ts);
        total += sq;
        has = true;
      };
      norm_of(s.exp_avg, "exp_avg_norm", m_sq, has_m);
      norm_of(s.exp_avg_sq, "exp_avg_sq_norm", v_sq, has_v);
      norm_of(s.momentum, "momentum_norm", mom_sq, has_mom);
      norm_of(s.accum, "accum_norm", acc_sq, has_acc);
      if (s.eff_step.defined()) {
        const double sum = to_double(s.eff_step.to(torch::kDouble).sum());
        const auto n = static_cast<double>(s.eff_step.numel());
        rec.add(k + "eff_step_mean", step, sum / n, ts);
        eff_sum += sum;
        eff_n += n;
      }
    }
  }
  if (has_m) rec.add("opt/exp_avg_norm", step, std::sqrt(m_sq), ts);
  if (has_v) rec.add("opt/exp_avg_sq_norm", step, std::sqrt(v_sq), ts);
  if (eff_n > 0) rec.add("opt/eff_step_mean", step, eff_sum / eff_n, ts);
  if (has_mom) rec.add("opt/momentum_norm", step, std::sqrt(mom_sq), ts);
  if (has_acc) rec.add("opt/accum_norm", step, std::sqrt(acc_sq), ts);
}

// --- activations --------------------------------------------------------------------------------

namespace {

enum LayerKind { kPlain = 0, kReluLike = 1, kSaturating = 2, kHardSigmoid = 3 };

int layer_kind(const std::string& act) {
  if (act == "relu" || act == "leaky_relu" || act == "elu" || act == "selu" || act == "gelu")
    return kReluLike;
  if (act == "sigmoid" || act == "tanh") return kSaturating;
  if (act == "hard_sigmoid") return kHardSigmoid;
  return kPlain;
}

/// Clears every capture when leaving scope, so an exception in the probe forward pass cannot
/// leave a capture (and its cost) behind.
class CaptureGuard {
 public:
  explicit CaptureGuard(std::vector<std::shared_ptr<ActivationImpl>> modules)
      : modules_(std::move(modules)) {}
  ~CaptureGuard() {
    for (auto& m : modules_) m->set_capture({});
  }
  CaptureGuard(const CaptureGuard&) = delete;
  CaptureGuard& operator=(const CaptureGuard&) = delete;

 private:
  std::vector<std::shared_ptr<ActivationImpl>> modules_;
};

}  // namespace

ActivationProbe::ActivationProbe(NetImpl& net) {
  for (const auto& item : net.named_modules(/*name_prefix=*/"", /*include_self=*/false)) {
    auto act = std::dynamic_pointer_cast<ActivationImpl>(item.value());
    if (act) layers_.push_back({item.key(), act, layer_kind(act->kind())});
  }
}

void ActivationProbe::record(NetImpl& net, const torch::Tensor& x, Recorder& rec, int64_t step,
                             int64_t ts) {
  if (layers_.empty()) return;
  // Per layer: mean, std, mean |out|, share of outputs <= 0, share saturated (first call only).
  std::vector<torch::Tensor> stats(layers_.size());
  {
    torch::NoGradGuard no_grad;
    ModeGuard mode(net);
    std::vector<std::shared_ptr<ActivationImpl>> modules;
    for (const auto& l : layers_) modules.push_back(l.module);
    CaptureGuard captures(modules);
    for (size_t i = 0; i < layers_.size(); ++i) {
      const int kind = layers_[i].kind;
      layers_[i].module->set_capture([&stats, i, kind](const torch::Tensor& in,
                                                       const torch::Tensor& out) {
        if (stats[i].defined()) return;
        const torch::Tensor o = out.to(torch::kDouble);
        const double threshold = kind == kHardSigmoid ? kHardSigmoidSaturation : kSaturation;
        stats[i] = torch::stack(
            {o.mean(), o.std(/*unbiased=*/false), o.abs().mean(),
             kind == kReluLike ? (o <= 0).to(torch::kDouble).mean() : torch::zeros({}, o.options()),
             kind >= kSaturating ? (in.abs() >= threshold).to(torch::kDouble).mean()
                                 : torch::zeros({}, o.options())});
      });
    }
    net.eval();
    net.forward(x);
  }
  double dead_max = kNaN, sat_max = kNaN, mean_abs_max = kNaN, std_sum = 0;
  int64_t layers = 0;
  // fmax ignores a NaN operand, so one NaN layer does not hide the others.
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (!stats[i].defined()) continue;  // not on the forward path
    const auto a = stats[i].accessor<double, 1>();
    const std::string k = "act/" + layers_[i].name + "/";
    rec.add(k + "mean", step, a[0], ts);
    rec.add(k + "std", step, a[1], ts);
    mean_abs_max = std::fmax(mean_abs_max, a[2]);
    std_sum += a[1];
    ++layers;
    if (layers_[i].kind == kReluLike) {
      rec.add(k + "dead_frac", step, a[3], ts);
      dead_max = std::fmax(dead_max, a[3]);
    } else if (layers_[i].kind >= kSaturating) {
      rec.add(k + "sat_frac", step, a[4], ts);
      sat_max = std::fmax(sat_max, a[4]);
    }
  }
  if (layers == 0) return;
  if (!std::isnan(dead_max)) rec.add("act/dead_frac_max", step, dead_max, ts);
  if (!std::isnan(sat_max)) rec.add("act/sat_frac_max", step, sat_max, ts);
  rec.add("act/mean_abs_max", step, mean_abs_max, ts);
  rec.add("act/std_mean", step, std_sum / static_cast<double>(layers), ts);
}

}  // namespace probes
}  // namespace dynfault::runner
