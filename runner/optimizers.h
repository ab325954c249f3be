#pragma once
/// Optimizers by Recipe name. LibTorch 1.13's C++ API has SGD, Adam, AdamW, Adagrad and RMSprop;
/// Adadelta, Adamax and NAdam are written here as `torch::optim::Optimizer` subclasses that follow
/// PyTorch 1.13's Python update rules (torch/optim/adadelta.py, adamax.py, nadam.py,
/// `_single_tensor_*`) line for line, so the state and the trajectory match PyTorch's.
#include <torch/arg.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>

#include <memory>
#include <tuple>
#include <vector>

#include "programs/recipe.h"

namespace dynfault::runner {

/// Options of Adadelta (PyTorch defaults). Example: `AdadeltaOptions(1.0).rho(0.95)`.
struct AdadeltaOptions : public torch::optim::OptimizerCloneableOptions<AdadeltaOptions> {
  AdadeltaOptions(double lr = 1.0) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's options
  TORCH_ARG(double, lr) = 1.0;
  TORCH_ARG(double, rho) = 0.9;
  TORCH_ARG(double, eps) = 1e-6;
  TORCH_ARG(double, weight_decay) = 0;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double new_lr) override { lr(new_lr); }
};

/// Adadelta state per parameter: running averages of g^2 and of the squared update.
struct AdadeltaParamState : public torch::optim::OptimizerCloneableParamState<AdadeltaParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, square_avg);
  TORCH_ARG(torch::Tensor, acc_delta);
};

/// Adadelta (Zeiler 2012) as torch.optim.Adadelta in PyTorch 1.13.
class Adadelta : public torch::optim::Optimizer {
 public:
  explicit Adadelta(std::vector<torch::Tensor> params, const AdadeltaOptions& defaults = {});
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// Options of Adamax (PyTorch defaults). Example: `AdamaxOptions(2e-3).betas({0.9, 0.999})`.
struct AdamaxOptions : public torch::optim::OptimizerCloneableOptions<AdamaxOptions> {
  AdamaxOptions(double lr = 2e-3) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's options
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 2e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double new_lr) override { lr(new_lr); }
};

/// Adamax state per parameter: first moment and exponentially weighted infinity norm.
struct AdamaxParamState : public torch::optim::OptimizerCloneableParamState<AdamaxParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(torch::Tensor, exp_avg);
  TORCH_ARG(torch::Tensor, exp_inf);
};

/// Adamax (Kingma & Ba 2015, section 7.1) as torch.optim.Adamax in PyTorch 1.13.
class Adamax : public torch::optim::Optimizer {
 public:
  explicit Adamax(std::vector<torch::Tensor> params, const AdamaxOptions& defaults = {});
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// Options of NAdam (PyTorch defaults). Example: `NAdamOptions(2e-3).momentum_decay(4e-3)`.
struct NAdamOptions : public torch::optim::OptimizerCloneableOptions<NAdamOptions> {
  NAdamOptions(double lr = 2e-3) : lr_(lr) {}  // NOLINT: implicit, as LibTorch's options
  using betas_t = std::tuple<double, double>;
  TORCH_ARG(double, lr) = 2e-3;
  TORCH_ARG(betas_t, betas) = std::make_tuple(0.9, 0.999);
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 0;
  TORCH_ARG(double, momentum_decay) = 4e-3;

 public:
  double get_lr() const override { return lr(); }
  void set_lr(const double new_lr) override { lr(new_lr); }
};

/// NAdam state per parameter: moments and the running product of the momentum schedule.
struct NAdamParamState : public torch::optim::OptimizerCloneableParamState<NAdamParamState> {
  TORCH_ARG(int64_t, step) = 0;
  TORCH_ARG(double, mu_product) = 1.0;
  TORCH_ARG(torch::Tensor, exp_avg);
  TORCH_ARG(torch::Tensor, exp_avg_sq);
};

/// NAdam (Dozat 2016) as torch.optim.NAdam in PyTorch 1.13.
class NAdam : public torch::optim::Optimizer {
 public:
  explicit NAdam(std::vector<torch::Tensor> params, const NAdamOptions& defaults = {});
  torch::Tensor step(LossClosure closure = nullptr) override;
};

/// Every optimizer name make_optimizer accepts.
bool is_known_optimizer(const std::string& name);

/// The optimizer `spec` names over `params`. Fields map as: lr, momentum and nesterov (sgd,
/// rmsprop momentum), beta1/beta2 (adam, adamw, adamax, nadam), eps, weight_decay, rho (rmsprop
/// alpha, adadelta rho). LibTorch's own checks (e.g. nesterov without momentum) throw c10::Error,
/// which the trainer records as outcome "exception", as PyTorch raises at construction.
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const programs::OptimizerSpec& spec,
                                                        std::vector<torch::Tensor> params);

}  // namespace dynfault::runner
