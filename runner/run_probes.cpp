#include "runner/run_probes.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <functional>

#include "programs/data.h"
#include "runner/losses.h"

namespace dynfault::runner {

RunProbes::RunProbes(const ProbeOptions& o, NetImpl& net, std::vector<probes::NamedParam>& params,
                     probes::Recorder& rec, uint64_t seed, const TrainOptions& options)
    : o_(o),
      net_(net),
      params_(params),
      rec_(rec),
      options_(options),
      acts_(net),
      curvature_(probes::CurvatureSettings{o.curvature_method, o.curvature_iterations,
                                           o.curvature_tol, o.hutchinson_samples,
                                           programs::mix_seed(seed, 1)}) {}

void RunProbes::choose_batch(const torch::Tensor& x, const torch::Tensor& y, uint64_t seed) {
  const bool acts = !o_.activations.is_off() && !acts_.empty();
  if ((!acts && o_.curvature.is_off()) || x.size(0) == 0) return;
  at::Generator gen = at::detail::createCPUGenerator(seed);
  const torch::Tensor idx =
      torch::randperm(x.size(0), gen).narrow(0, 0, std::min(o_.probe_batch, x.size(0)));
  x_ = x.index_select(0, idx);
  y_ = y.index_select(0, idx);
}

void RunProbes::state(bool weights, bool acts, bool opt, int64_t at,
                      const torch::optim::Optimizer& optimizer) {
  if (weights) guarded([&] { probes::record_weights(params_, rec_, at, unix_ms()); });
  if (acts && x_.defined()) guarded([&] { acts_.record(net_, x_, rec_, at, unix_ms()); });
  if (opt) guarded([&] { probes::record_optimizer(optimizer, params_, rec_, at, unix_ms()); });
}

void RunProbes::measure_curvature(int64_t at, int64_t updates, const programs::Recipe& r,
                                  int64_t num_classes, const torch::optim::Optimizer& optimizer,
                                  const std::vector<torch::Tensor>& penalised) {
  const int64_t len = std::min(o_.curvature_batch, x_.size(0));
  const torch::Tensor x = x_.narrow(0, 0, len), y = y_.narrow(0, 0, len);
  const std::function<torch::Tensor()> objective = [this, x, y, &r, num_classes, &penalised] {
    torch::Tensor loss = compute_loss(r.loss, net_.forward(x), y, num_classes);
    if (r.l1 > 0 || r.l2 > 0) loss = loss + penalty(penalised, r.l1, r.l2);
    return r.loop.loss_sign_flip ? -loss : loss;
  };
  std::vector<torch::Tensor> ps;
  for (const auto& p : params_)
    if (p.tensor.requires_grad()) ps.push_back(p.tensor);
  const bool train_mode =
      o_.curvature_mode == ProbeOptions::CurvatureMode::kTrain && r.loop.train_mode;
  const probes::StabilityRule rule = probes::stability_rule(optimizer, ps);
  const probes::Curvature c = curvature_.measure(net_, train_mode, objective, ps, &rule);
  const int64_t ts = unix_ms();
  rec_.add("curv/lambda_max", at, c.lambda_max, ts);
  rec_.add("curv/lambda_min", at, c.lambda_min, ts);
  rec_.add("curv/trace", at, c.trace, ts);
  rec_.add("curv/residual", at, c.residual, ts);
  rec_.add("curv/lr_lambda", at, rule.lr * c.lambda_max, ts);
  rec_.add("curv/stability_ratio", at, c.stability_ratio, ts);
  if (rule.adaptive) rec_.add("curv/precond_sharpness", at, c.precond_sharpness, ts);
  rec_.add("curv/iterations", at, static_cast<double>(c.iterations), ts);
  rec_.add("curv/hvps", at, static_cast<double>(c.hvps), ts);
  // What the probe cost (wall time, so under time/ with the step times: not part of what a
  // run's spec determines): the whole probe, and its Hessian-vector products.
  rec_.add("time/curvature_ms", at, c.total_ms, ts);
  rec_.add("time/curvature_hvp_ms", at, c.hvp_ms, ts);
  if (options_.on_curvature) {
    probes::CurvatureContext ctx;
    ctx.index = at;
    ctx.updates = updates;
    ctx.train_mode = train_mode;
    ctx.net = &net_;
    ctx.objective = objective;
    ctx.params = ps;
    ctx.rule = rule;
    ctx.reading = c;
    options_.on_curvature(ctx);
  }
}

}  // namespace dynfault::runner
