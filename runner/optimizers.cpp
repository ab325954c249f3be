#include "runner/optimizers.h"

#include <torch/torch.h>

#include <cmath>

#include "common/check.h"

namespace dynfault::runner {
namespace {

/// State key LibTorch's own optimizers use (the TensorImpl address), so that probes read our
/// optimizers' state exactly as they read Adam's.
std::string state_key(const torch::Tensor& p) {
  return c10::guts::to_string(p.unsafeGetTensorImpl());
}

template <typename State>
State& state_for(
    ska::flat_hash_map<std::string, std::unique_ptr<torch::optim::OptimizerParamState>>& states,
    const torch::Tensor& p, const std::function<void(State&)>& init) {
  const std::string key = state_key(p);
  auto it = states.find(key);
  if (it == states.end()) {
    auto st = std::make_unique<State>();
    init(*st);
    it = states.emplace(key, std::move(st)).first;
  }
  return static_cast<State&>(*it->second);
}

torch::Tensor run_closure(const torch::optim::Optimizer::LossClosure& closure) {
  if (closure == nullptr) return {};
  at::AutoGradMode enable_grad(true);
  return closure();
}

torch::Tensor zeros_like_param(const torch::Tensor& p) {
  return torch::zeros_like(p, torch::MemoryFormat::Preserve);
}

/// The checks (and messages) of PyTorch's Adam-family constructors: lr, eps, both betas in
/// [0, 1), weight decay.
template <typename Options>
void check_adam_family(const Options& defaults) {
  TORCH_CHECK(defaults.lr() >= 0, "Invalid learning rate: ", defaults.lr());
  TORCH_CHECK(defaults.eps() >= 0, "Invalid epsilon value: ", defaults.eps());
  const auto [b1, b2] = defaults.betas();
  TORCH_CHECK(b1 >= 0 && b1 < 1, "Invalid beta parameter at index 0: ", b1);
  TORCH_CHECK(b2 >= 0 && b2 < 1, "Invalid beta parameter at index 1: ", b2);
  TORCH_CHECK(defaults.weight_decay() >= 0,
              "Invalid weight_decay value: ", defaults.weight_decay());
}

}  // namespace

// --- Adadelta ------------------------------------------------------------------------------------

Adadelta::Adadelta(std::vector<torch::Tensor> params, const AdadeltaOptions& defaults)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                              std::make_unique<AdadeltaOptions>(defaults)) {
  TORCH_CHECK(defaults.lr() >= 0, "Invalid learning rate: ", defaults.lr());
  TORCH_CHECK(defaults.rho() >= 0 && defaults.rho() <= 1, "Invalid rho value: ", defaults.rho());
  TORCH_CHECK(defaults.eps() >= 0, "Invalid epsilon value: ", defaults.eps());
  TORCH_CHECK(defaults.weight_decay() >= 0,
              "Invalid weight_decay value: ", defaults.weight_decay());
}

torch::Tensor Adadelta::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const AdadeltaOptions&>(group.options());
    const double rho = o.rho(), eps = o.eps(), lr = o.lr(), wd = o.weight_decay();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& st = state_for<AdadeltaParamState>(state_, p, [&](AdadeltaParamState& s) {
        s.square_avg(zeros_like_param(p));
        s.acc_delta(zeros_like_param(p));
      });
      st.step(st.step() + 1);
      // PyTorch 1.13 torch/optim/adadelta.py, _single_tensor_adadelta:
      //   grad = grad.add(param, alpha=weight_decay)                 (if weight_decay != 0)
      //   square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
      //   std = square_avg.add(eps).sqrt_()
      //   delta = acc_delta.add(eps).sqrt_().div_(std).mul_(grad)
      //   acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
      //   param.add_(delta, alpha=-lr)
      torch::Tensor grad = p.grad();
      if (wd != 0) grad = grad.add(p, wd);
      st.square_avg().mul_(rho).addcmul_(grad, grad, 1 - rho);
      const torch::Tensor std_dev = st.square_avg().add(eps).sqrt_();
      const torch::Tensor delta = st.acc_delta().add(eps).sqrt_().div_(std_dev).mul_(grad);
      st.acc_delta().mul_(rho).addcmul_(delta, delta, 1 - rho);
      p.add_(delta, -lr);
    }
  }
  return loss;
}

// --- Adamax --------------------------------------------------------------------------------------

Adamax::Adamax(std::vector<torch::Tensor> params, const AdamaxOptions& defaults)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                              std::make_unique<AdamaxOptions>(defaults)) {
  check_adam_family(defaults);
}

torch::Tensor Adamax::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const AdamaxOptions&>(group.options());
    const auto [beta1, beta2] = o.betas();
    const double eps = o.eps(), lr = o.lr(), wd = o.weight_decay();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& st = state_for<AdamaxParamState>(state_, p, [&](AdamaxParamState& s) {
        s.exp_avg(zeros_like_param(p));
        s.exp_inf(zeros_like_param(p));
      });
      st.step(st.step() + 1);
      // PyTorch 1.13 torch/optim/adamax.py, _single_tensor_adamax:
      //   grad = grad.add(param, alpha=weight_decay)                 (if weight_decay != 0)
      //   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
      //   exp_inf = amax(cat([exp_inf * beta2, |grad| + eps]), 0)    (elementwise maximum)
      //   clr = lr / (1 - beta1 ** step)
      //   param.addcdiv_(exp_avg, exp_inf, value=-clr)
      torch::Tensor grad = p.grad();
      if (wd != 0) grad = grad.add(p, wd);
      st.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
      st.exp_inf().copy_(torch::maximum(st.exp_inf().mul_(beta2), grad.abs().add_(eps)));
      const double bias_correction = 1 - std::pow(beta1, static_cast<double>(st.step()));
      p.addcdiv_(st.exp_avg(), st.exp_inf(), -lr / bias_correction);
    }
  }
  return loss;
}

// --- NAdam ---------------------------------------------------------------------------------------

NAdam::NAdam(std::vector<torch::Tensor> params, const NAdamOptions& defaults)
    : torch::optim::Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                              std::make_unique<NAdamOptions>(defaults)) {
  check_adam_family(defaults);
  TORCH_CHECK(defaults.momentum_decay() >= 0,
              "Invalid momentum_decay value: ", defaults.momentum_decay());
}

torch::Tensor NAdam::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = run_closure(closure);
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const NAdamOptions&>(group.options());
    const auto [beta1, beta2] = o.betas();
    const double eps = o.eps(), lr = o.lr(), wd = o.weight_decay(), psi = o.momentum_decay();
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      auto& st = state_for<NAdamParamState>(state_, p, [&](NAdamParamState& s) {
        s.exp_avg(zeros_like_param(p));
        s.exp_avg_sq(zeros_like_param(p));
      });
      st.step(st.step() + 1);
      // PyTorch 1.13 torch/optim/nadam.py, _single_tensor_nadam:
      //   bias_correction2 = 1 - beta2 ** step
      //   grad = grad.add(param, alpha=weight_decay)                 (if weight_decay != 0)
      //   mu      = beta1 * (1 - 0.5 * 0.96 ** (step * momentum_decay))
      //   mu_next = beta1 * (1 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
      //   mu_product *= mu;  mu_product_next = mu_product * mu_next
      //   exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
      //   exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
      //   denom = exp_avg_sq.div(bias_correction2).sqrt().add_(eps)
      //   param.addcdiv_(grad, denom, value=-lr * (1 - mu) / (1 - mu_product))
      //   param.addcdiv_(exp_avg, denom, value=-lr * mu_next / (1 - mu_product_next))
      // (PyTorch keeps mu_product in a float32 tensor; we keep it in double, a difference of
      // about 1e-7 relative in the step size.)
      const auto step = static_cast<double>(st.step());
      const double bias_correction2 = 1 - std::pow(beta2, step);
      torch::Tensor grad = p.grad();
      if (wd != 0) grad = grad.add(p, wd);
      const double mu = beta1 * (1.0 - 0.5 * std::pow(0.96, step * psi));
      const double mu_next = beta1 * (1.0 - 0.5 * std::pow(0.96, (step + 1) * psi));
      st.mu_product(st.mu_product() * mu);
      const double mu_product_next = st.mu_product() * mu_next;
      st.exp_avg().mul_(beta1).add_(grad, 1 - beta1);
      st.exp_avg_sq().mul_(beta2).addcmul_(grad, grad, 1 - beta2);
      const torch::Tensor denom = st.exp_avg_sq().div(bias_correction2).sqrt().add_(eps);
      p.addcdiv_(grad, denom, -lr * (1.0 - mu) / (1.0 - st.mu_product()));
      p.addcdiv_(st.exp_avg(), denom, -lr * mu_next / (1.0 - mu_product_next));
    }
  }
  return loss;
}

// --- factory -------------------------------------------------------------------------------------

bool is_known_optimizer(const std::string& name) {
  return name == "sgd" || name == "adam" || name == "adamw" || name == "adagrad" ||
         name == "rmsprop" || name == "adadelta" || name == "adamax" || name == "nadam";
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const programs::OptimizerSpec& s,
                                                        std::vector<torch::Tensor> params) {
  namespace optim = torch::optim;
  const auto betas = std::make_tuple(s.beta1, s.beta2);
  if (s.name == "sgd") {
    return std::make_unique<optim::SGD>(std::move(params), optim::SGDOptions(s.lr)
                                                               .momentum(s.momentum)
                                                               .nesterov(s.nesterov)
                                                               .weight_decay(s.weight_decay));
  }
  if (s.name == "adam") {
    return std::make_unique<optim::Adam>(
        std::move(params),
        optim::AdamOptions(s.lr).betas(betas).eps(s.eps).weight_decay(s.weight_decay));
  }
  if (s.name == "adamw") {
    return std::make_unique<optim::AdamW>(
        std::move(params),
        optim::AdamWOptions(s.lr).betas(betas).eps(s.eps).weight_decay(s.weight_decay));
  }
  if (s.name == "adagrad") {
    return std::make_unique<optim::Adagrad>(
        std::move(params), optim::AdagradOptions(s.lr).eps(s.eps).weight_decay(s.weight_decay));
  }
  if (s.name == "rmsprop") {
    return std::make_unique<optim::RMSprop>(std::move(params), optim::RMSpropOptions(s.lr)
                                                                   .alpha(s.rho)
                                                                   .eps(s.eps)
                                                                   .momentum(s.momentum)
                                                                   .weight_decay(s.weight_decay));
  }
  if (s.name == "adadelta") {
    return std::make_unique<Adadelta>(
        std::move(params),
        AdadeltaOptions(s.lr).rho(s.rho).eps(s.eps).weight_decay(s.weight_decay));
  }
  if (s.name == "adamax") {
    return std::make_unique<Adamax>(
        std::move(params),
        AdamaxOptions(s.lr).betas(betas).eps(s.eps).weight_decay(s.weight_decay));
  }
  if (s.name == "nadam") {
    return std::make_unique<NAdam>(
        std::move(params), NAdamOptions(s.lr).betas(betas).eps(s.eps).weight_decay(s.weight_decay));
  }
  throw Error("make_optimizer(): unknown optimizer '" + s.name +
              "' (known: adadelta, adagrad, adam, adamax, adamw, nadam, rmsprop, sgd)");
}

}  // namespace dynfault::runner
