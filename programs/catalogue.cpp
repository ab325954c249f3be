#include "programs/catalogue.h"

#include <utility>

namespace dynfault::programs {

Recipe make_program(const std::string& id, const std::string& family, const std::string& task,
                    const std::string& kind) {
  Recipe r;
  r.program = id;
  r.family = family;
  r.task = task;
  r.provenance.kind = kind;
  r.provenance.metric = task == "regression" ? "r2" : "accuracy";
  return r;
}

void set_training(Recipe& r, const std::string& loss, const OptimizerSpec& optimizer,
                  int64_t batch_size, int64_t epochs) {
  r.loss = loss;
  r.optimizer = optimizer;
  r.batch_size = batch_size;
  r.epochs = epochs;
}

void sklearn_mlp_defaults(Recipe& r, double alpha, int64_t n_train) {
  r.init = "xavier_uniform";
  r.l2 = alpha / (2.0 * static_cast<double>(n_train));
}

namespace {
OptimizerSpec named(const std::string& name, double lr, double eps) {
  OptimizerSpec o;
  o.name = name;
  o.lr = lr;
  o.eps = eps;
  return o;
}
}  // namespace

OptimizerSpec sgd(double lr, double momentum, bool nesterov) {
  OptimizerSpec o = named("sgd", lr, OptimizerSpec().eps);
  o.momentum = momentum;
  o.nesterov = nesterov;
  return o;
}

OptimizerSpec adam(double lr, double eps) { return named("adam", lr, eps); }

OptimizerSpec rmsprop(double lr, double rho, double eps) {
  OptimizerSpec o = named("rmsprop", lr, eps);
  o.rho = rho;
  return o;
}

OptimizerSpec adadelta(double lr, double rho, double eps) {
  OptimizerSpec o = named("adadelta", lr, eps);
  o.rho = rho;
  return o;
}

ScheduleSpec step_lr(int64_t step_size, double gamma) {
  ScheduleSpec s;
  s.name = "step";
  s.step_size = step_size;
  s.gamma = gamma;
  return s;
}

OptimizerSpec keras_adam(double lr) { return adam(lr, 1e-7); }
OptimizerSpec keras_adadelta() { return adadelta(1.0, 0.95, 1e-7); }

std::vector<Layer> concat(std::initializer_list<std::vector<Layer>> parts) {
  std::vector<Layer> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

DataSpec data_of(const std::string& name, std::vector<int64_t> sample_shape, int64_t num_classes,
                 std::map<std::string, double> params) {
  DataSpec d;
  d.name = name;
  d.sample_shape = std::move(sample_shape);
  d.num_classes = num_classes;
  d.params = std::move(params);
  return d;
}

DataSpec fashion_mnist(int64_t train, int64_t test) {
  DataSpec d = data_of("fashion_mnist", {1, 28, 28}, 10);
  d.train_limit = train;
  d.test_limit = test;
  d.val_fraction = 0.1;
  d.normalize = false;
  return d;
}

DataSpec digits(bool as_image) {
  std::map<std::string, double> params = {{"x_scale", 1.0 / 16}};
  if (as_image) params["as_image"] = 1;
  DataSpec d = data_of(
      "digits", as_image ? std::vector<int64_t>{1, 8, 8} : std::vector<int64_t>{64}, 10, params);
  d.val_fraction = 0.1;
  d.normalize = false;
  return d;
}

}  // namespace dynfault::programs
