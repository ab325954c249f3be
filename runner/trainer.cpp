#include "runner/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "runner/data_pipeline.h"
#include "runner/losses.h"
#include "runner/model_builder.h"
#include "runner/optimizers.h"

namespace dynfault::runner {

using programs::Dataset;
using programs::Recipe;

namespace {

/// Divergence rule: |loss| above kDivergeAbs (DeepFD's nan-loss threshold), or above kDivergeRel
/// times the first step's |loss| (floored at 1, so a tiny initial MSE does not make an ordinary
/// fluctuation count as divergence). Whichever threshold is lower applies; the absolute value
/// catches losses that run off to -inf (nll on raw outputs, a flipped sign).
constexpr double kDivergeAbs = 1e5;
constexpr double kDivergeRel = 1e3;
/// |w| below this counts as "near zero" (prior-work 3.5).
constexpr double kNearZero = 1e-5;
/// Evaluation batch size: evaluation runs without autograd, so a larger batch is cheaper.
constexpr int64_t kEvalBatch = 1024;

using Clock = std::chrono::steady_clock;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

/// Inputs and targets of one data part as tensors.
struct Tensors {
  torch::Tensor x, y;
  int64_t size() const { return x.defined() ? x.size(0) : 0; }
};

Tensors to_tensors(const Dataset& d) {
  const int64_t n = d.size();
  std::vector<int64_t> x_shape{n};
  x_shape.insert(x_shape.end(), d.sample_shape.begin(), d.sample_shape.end());
  Tensors t;
  if (n == 0) {
    t.x = torch::empty(x_shape);
    t.y = torch::empty({0});
  } else {
    t.x = torch::from_blob(const_cast<float*>(d.x.data()), x_shape, torch::kFloat).clone();
    const bool classes = d.num_classes > 0;
    const std::vector<int64_t> y_shape =
        classes ? std::vector<int64_t>{n} : std::vector<int64_t>{n, d.target_numel()};
    t.y = torch::from_blob(const_cast<float*>(d.y.data()), y_shape, torch::kFloat).clone();
    if (classes) t.y = t.y.to(torch::kLong);
  }
  if (d.integer_inputs) t.x = t.x.to(torch::kLong);
  return t;
}

class Recorder {
 public:
  explicit Recorder(std::vector<db::MetricPoint>& out) : out_(out) {}
  void add(const std::string& key, int64_t step, double value, int64_t ts) {
    out_.push_back(db::MetricPoint{key, step, value, ts});
  }

 private:
  std::vector<db::MetricPoint>& out_;
};

struct NamedParam {
  std::string name;
  torch::Tensor tensor;
};

/// Restores the module's train/eval mode when leaving scope (also on exceptions).
class ModeGuard {
 public:
  explicit ModeGuard(torch::nn::Module& m) : m_(m), training_(m.is_training()) {}
  ~ModeGuard() { m_.train(training_); }
  ModeGuard(const ModeGuard&) = delete;
  ModeGuard& operator=(const ModeGuard&) = delete;

 private:
  torch::nn::Module& m_;
  bool training_;
};

torch::Tensor penalty(const std::vector<torch::Tensor>& weights, double l1, double l2) {
  torch::Tensor p = torch::zeros({});
  for (const auto& w : weights) {
    if (l1 > 0) p = p + l1 * w.abs().sum();
    if (l2 > 0) p = p + l2 * w.pow(2).sum();
  }
  return p;
}

struct Evaluation {
  double loss;
  double metric;
};

/// Loss and metric on a data part: eval mode, no autograd, no random draws, so it leaves the
/// training trajectory untouched. The loss includes the L1/L2 penalty, as Keras reports it.
Evaluation evaluate(NetImpl& net, const Tensors& data, const Recipe& r, int64_t num_classes,
                    const std::vector<torch::Tensor>& weights) {
  torch::NoGradGuard no_grad;
  ModeGuard mode(net);
  net.eval();
  MetricAccumulator acc(r.loss, num_classes > 0);
  double loss_sum = 0;
  const int64_t n = data.size();
  for (int64_t lo = 0; lo < n; lo += kEvalBatch) {
    const int64_t len = std::min(kEvalBatch, n - lo);
    const torch::Tensor out = net.forward(data.x.narrow(0, lo, len));
    const torch::Tensor yb = data.y.narrow(0, lo, len);
    loss_sum +=
        compute_loss(r.loss, out, yb, num_classes).item<double>() * static_cast<double>(len);
    acc.add(out, yb);
  }
  double loss =
      n > 0 ? loss_sum / static_cast<double>(n) : std::numeric_limits<double>::quiet_NaN();
  if (r.l1 > 0 || r.l2 > 0) loss += penalty(weights, r.l1, r.l2).item<double>();
  return {loss, acc.value()};
}

/// Per-tensor gradient statistics; called after backward and before clipping and the optimizer
/// step, reading .grad only.
void record_grad_stats(const std::vector<NamedParam>& params, Recorder& rec, int64_t epoch,
                       int64_t ts) {
  torch::NoGradGuard no_grad;
  double global_sq = 0, nonfinite_total = 0;
  double first_norm = std::numeric_limits<double>::quiet_NaN();
  double last_norm = first_norm;
  bool have_first = false;
  for (const auto& p : params) {
    const torch::Tensor g = p.tensor.grad();
    if (!g.defined()) continue;
    const torch::Tensor ga = g.abs();
    const auto n = static_cast<double>(g.numel());
    const torch::Tensor s = torch::stack(
        {g.norm().to(torch::kDouble), ga.mean().to(torch::kDouble), ga.max().to(torch::kDouble),
         (g == 0).sum().to(torch::kDouble) / n, (~torch::isfinite(g)).sum().to(torch::kDouble)});
    const auto a = s.accessor<double, 1>();
    const std::string k = "grad/" + p.name + "/";
    rec.add(k + "norm", epoch, a[0], ts);
    rec.add(k + "mean_abs", epoch, a[1], ts);
    rec.add(k + "max_abs", epoch, a[2], ts);
    rec.add(k + "zero_frac", epoch, a[3], ts);
    rec.add(k + "nonfinite", epoch, a[4], ts);
    global_sq += a[0] * a[0];
    nonfinite_total += a[4];
    if (p.tensor.dim() >= 2) {
      if (!have_first) first_norm = a[0];
      have_first = true;
      last_norm = a[0];
    }
  }
  rec.add("grad/global_norm", epoch, std::sqrt(global_sq), ts);
  rec.add("grad/nonfinite", epoch, nonfinite_total, ts);
  // Vanishing (<< 1) or exploding (>> 1) gradients between the first and last weight tensor.
  rec.add("grad/first_last_ratio", epoch, first_norm / last_norm, ts);
}

void record_weight_stats(const std::vector<NamedParam>& params, Recorder& rec, int64_t epoch,
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
    rec.add(k + "norm", epoch, a[0], ts);
    rec.add(k + "mean", epoch, a[1], ts);
    rec.add(k + "std", epoch, a[2], ts);
    rec.add(k + "max_abs", epoch, a[3], ts);
    rec.add(k + "near_zero_frac", epoch, a[4], ts);
    flat.push_back(w.reshape({-1}));
  }
  if (flat.empty()) return;
  const torch::Tensor all = torch::cat(flat);
  const torch::Tensor s = torch::stack(
      {(~torch::isfinite(all)).sum().to(torch::kDouble), all.abs().max().to(torch::kDouble),
       all.mean().to(torch::kDouble), all.std(/*unbiased=*/false).to(torch::kDouble)});
  const auto a = s.accessor<double, 1>();
  rec.add("weight/nonfinite", epoch, a[0], ts);
  rec.add("weight/max_abs", epoch, a[1], ts);
  rec.add("weight/mean", epoch, a[2], ts);
  rec.add("weight/std", epoch, a[3], ts);
}

void validate(const Recipe& r) {
  const std::string who = "train(): program '" + r.program + "': ";
  DYNFAULT_CHECK(is_known_loss(r.loss), who, "unknown loss '", r.loss, "'");
  DYNFAULT_CHECK(is_known_optimizer(r.optimizer.name), who, "unknown optimizer '", r.optimizer.name,
                 "'");
  DYNFAULT_CHECK(is_known_init(r.init), who, "unknown init '", r.init, "'");
  DYNFAULT_CHECK(r.batch_size >= 0, who, "batch_size must be >= 0 (0 = full batch), got ",
                 r.batch_size);
  DYNFAULT_CHECK(r.epochs > 0, who, "epochs must be > 0, got ", r.epochs);
  DYNFAULT_CHECK(
      r.schedule.name == "none" || r.schedule.name == "step" || r.schedule.name == "exponential",
      who, "unknown schedule '", r.schedule.name, "' (known: none, step, exponential)");
  DYNFAULT_CHECK(r.schedule.step_size > 0, who, "schedule.step_size must be > 0, got ",
                 r.schedule.step_size);
  DYNFAULT_CHECK(r.l1 >= 0 && r.l2 >= 0, who, "l1/l2 must be >= 0, got ", r.l1, "/", r.l2);
  DYNFAULT_CHECK(r.clip_norm >= 0 && r.clip_value >= 0, who, "clip_norm/clip_value must be >= 0");
  DYNFAULT_CHECK(r.patience >= 0, who, "patience must be >= 0, got ", r.patience);
  if (r.builder == "sequential") {
    try {
      validate_layers(r.layers);
    } catch (const Error& e) {
      throw Error(who + e.what());
    }
  }
}

double schedule_factor(const programs::ScheduleSpec& s, int64_t epoch) {
  if (s.name == "step") return std::pow(s.gamma, static_cast<double>(epoch / s.step_size));
  if (s.name == "exponential") return std::pow(s.gamma, static_cast<double>(epoch));
  return 1.0;
}

}  // namespace

db::RunResult train(const Recipe& recipe, int64_t seed, const TrainOptions& options) {
  db::RunResult result;
  result.start_time = now_ms();
  // One intra-op thread per run is the design (parallelism comes from processes); the worker
  // sets it at start-up, this only makes a forgotten call harmless.
  if (torch::get_num_threads() != 1) torch::set_num_threads(1);
  validate(recipe);
  DYNFAULT_CHECK(options.probe_every > 0, "train(): probe_every must be > 0, got ",
                 options.probe_every);

  // Seed first: model initialisation and dropout draw from the global generator; the data
  // pipeline and the shuffling generator use their own streams derived from the same seed.
  torch::manual_seed(static_cast<uint64_t>(seed));
  const auto useed = static_cast<uint64_t>(seed);
  const PreparedData data = prepare_data(recipe.data, useed);
  const int64_t num_classes = data.train.num_classes;
  const Tensors train_t = to_tensors(data.train);
  const Tensors val_t = to_tensors(data.val);
  const Tensors test_t = to_tensors(data.test);

  Recorder rec(result.metrics);
  at::Generator shuffle_gen =
      at::detail::createCPUGenerator(programs::mix_seed(useed, kShuffleStream));
  const Clock::time_point t0 = Clock::now();
  Clock::time_point last_progress = t0;
  const int64_t n = train_t.size();
  // batch_size 0 = the whole training set in one batch (DeepCrime's HDB operator).
  const int64_t bs = recipe.batch_size > 0 ? recipe.batch_size : std::max<int64_t>(n, 1);
  const int64_t batches = (n + bs - 1) / bs;
  const bool has_penalty = recipe.l1 > 0 || recipe.l2 > 0;
  std::string outcome = "completed";
  int64_t step = 0;
  int64_t last_epoch = -1;
  std::vector<NamedParam> params;
  std::vector<torch::Tensor> weights;  // tensors the L1/L2 penalty applies to (no biases)

  try {
    // Inside the barrier: a layer list that no longer fits its data after a mutation (a kernel
    // larger than its feature map) is a training outcome, as the Python program would crash.
    const BuiltModel built =
        build_model(recipe, data.train.sample_shape, data.train.integer_inputs);
    NetImpl& net = *built.net;
    for (const auto& kv : net.named_parameters()) {
      params.push_back({kv.key(), kv.value()});
      if (kv.value().dim() >= 2) weights.push_back(kv.value());
    }

    std::unique_ptr<torch::optim::Optimizer> optimizer =
        make_optimizer(recipe.optimizer, net.parameters());
    std::vector<double> base_lr;
    for (auto& g : optimizer->param_groups()) base_lr.push_back(g.options().get_lr());

    double initial_loss = std::numeric_limits<double>::quiet_NaN();
    double best = std::numeric_limits<double>::infinity();
    int64_t epochs_without_improvement = 0;
    bool stop = false;
    for (int64_t epoch = 0; epoch < recipe.epochs && !stop; ++epoch) {
      last_epoch = epoch;
      if (recipe.schedule.name != "none") {
        const double f = schedule_factor(recipe.schedule, epoch);
        auto& groups = optimizer->param_groups();
        for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(base_lr[i] * f);
      }
      rec.add("epoch/lr", epoch, optimizer->param_groups()[0].options().get_lr(), now_ms());

      net.train(recipe.loop.train_mode);
      const torch::Tensor perm =
          recipe.loop.shuffle ? torch::randperm(n, shuffle_gen) : torch::Tensor();
      const bool probe_epoch = options.probes && epoch % options.probe_every == 0;
      MetricAccumulator train_metric(recipe.loss, num_classes > 0);
      double loss_sum = 0;
      int64_t seen = 0;

      for (int64_t b = 0; b < batches; ++b) {
        const Clock::time_point start = Clock::now();
        const int64_t lo = b * bs;
        const int64_t len = std::min(bs, n - lo);
        torch::Tensor xb, yb;
        if (perm.defined()) {
          const torch::Tensor idx = perm.narrow(0, lo, len);
          xb = train_t.x.index_select(0, idx);
          yb = train_t.y.index_select(0, idx);
        } else {
          xb = train_t.x.narrow(0, lo, len);
          yb = train_t.y.narrow(0, lo, len);
        }
        if (recipe.loop.zero_grad) optimizer->zero_grad();
        const torch::Tensor out = net.forward(xb);
        torch::Tensor loss = compute_loss(recipe.loss, out, yb, num_classes);
        if (has_penalty) loss = loss + penalty(weights, recipe.l1, recipe.l2);
        (recipe.loop.loss_sign_flip ? -loss : loss).backward();
        const double loss_value = loss.item<double>();
        train_metric.add(out, yb);
        loss_sum += loss_value * static_cast<double>(len);
        seen += len;

        std::string terminal;
        if (!std::isfinite(loss_value)) {
          terminal = "nan_loss";
        } else {
          if (std::isnan(initial_loss)) initial_loss = loss_value;
          const double limit =
              std::min(kDivergeAbs, kDivergeRel * std::max(std::abs(initial_loss), 1.0));
          if (std::abs(loss_value) > limit) terminal = "diverged";
        }
        const bool last_step = options.max_steps > 0 && step + 1 >= options.max_steps;
        double probe_ms = 0;
        if (options.probes &&
            (!terminal.empty() || (probe_epoch && (b == batches - 1 || last_step)))) {
          const Clock::time_point ps = Clock::now();
          record_grad_stats(params, rec, epoch, now_ms());
          probe_ms = ms_between(ps, Clock::now());
        }
        if (!terminal.empty()) {
          // The step that produced the bad loss is recorded but not applied.
          rec.add("train/loss", step, loss_value, now_ms());
          outcome = terminal;
          stop = true;
          break;
        }
        if (recipe.clip_norm > 0)
          torch::nn::utils::clip_grad_norm_(net.parameters(), recipe.clip_norm);
        if (recipe.clip_value > 0)
          torch::nn::utils::clip_grad_value_(net.parameters(), recipe.clip_value);
        optimizer->step();

        const Clock::time_point end = Clock::now();
        const int64_t ts = now_ms();
        rec.add("train/loss", step, loss_value, ts);
        rec.add("time/step_ms", step, ms_between(start, end) - probe_ms, ts);
        ++step;
        if (last_step) {
          stop = true;
          break;
        }
        if (options.timeout_s > 0 && ms_between(t0, end) > options.timeout_s * 1000.0) {
          outcome = "timeout";
          stop = true;
          break;
        }
        if (options.on_progress && ms_between(last_progress, end) >= 1000.0) {
          last_progress = end;
          options.on_progress();
        }
      }

      // End of the epoch (also of a partial one when training stops): curves, then weights.
      const int64_t ts = now_ms();
      const double train_loss = seen > 0 ? loss_sum / static_cast<double>(seen)
                                         : std::numeric_limits<double>::quiet_NaN();
      rec.add("epoch/train_loss", epoch, train_loss, ts);
      rec.add("epoch/train_metric", epoch, train_metric.value(), ts);
      double monitor = train_loss;
      if (val_t.size() > 0) {
        const Evaluation ev = evaluate(net, val_t, recipe, num_classes, weights);
        rec.add("epoch/val_loss", epoch, ev.loss, ts);
        rec.add("epoch/val_metric", epoch, ev.metric, ts);
        monitor = ev.loss;
      }
      if (options.probes && (probe_epoch || stop || epoch + 1 == recipe.epochs))
        record_weight_stats(params, rec, epoch, now_ms());

      if (recipe.patience > 0 && !stop) {
        // Keras EarlyStopping(min_delta=0): an epoch improves only if strictly better.
        if (monitor < best) {
          best = monitor;
          epochs_without_improvement = 0;
        } else if (++epochs_without_improvement >= recipe.patience) {
          stop = true;
        }
      }
    }
    if (last_epoch >= 0) {
      const Evaluation ev = evaluate(net, test_t, recipe, num_classes, weights);
      const int64_t ts = now_ms();
      rec.add("final/test_loss", last_epoch, ev.loss, ts);
      rec.add("final/test_metric", last_epoch, ev.metric, ts);
    }
  } catch (const c10::Error& e) {
    outcome = "exception";
    result.error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    outcome = "exception";
    result.error = e.what();
  }

  if (options.on_final_weights && outcome != "exception") {
    std::map<std::string, std::vector<float>> final_weights;
    for (const auto& p : params) {
      const torch::Tensor w = p.tensor.detach().to(torch::kFloat).contiguous().reshape({-1});
      final_weights[p.name] =
          std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    }
    options.on_final_weights(final_weights);
  }

  result.status = "FINISHED";
  result.outcome = outcome;
  result.end_time = now_ms();
  return result;
}

db::RunResult train_spec(const db::RunSpec& spec, const TrainOptions& options) {
  programs::Recipe recipe;
  try {
    recipe = programs::Recipe::from_json(programs::Json::parse(spec.recipe_json));
  } catch (const programs::Json::exception& e) {
    throw Error("train_spec(): run " + spec.run_uuid + ": recipe_json is not JSON: " + e.what());
  }
  TrainOptions opts = options;
  if (opts.timeout_s <= 0 && spec.timeout_s > 0) opts.timeout_s = spec.timeout_s;
  db::RunResult result = train(recipe, spec.seed, opts);
  result.run_uuid = spec.run_uuid;
  return result;
}

}  // namespace dynfault::runner
