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

#include "common/clock.h"
#include "common/check.h"
#include "common/hash.h"
#include "runner/data_pipeline.h"
#include "runner/losses.h"
#include "runner/model_builder.h"
#include "runner/optimizers.h"
#include "runner/probes.h"

namespace dynfault::runner {

using probes::ModeGuard;
using probes::NamedParam;
using probes::Recorder;
using programs::Dataset;
using programs::Recipe;

namespace {

/// Divergence rule: |loss| above kDivergeAbs (DeepFD's nan-loss threshold), or above kDivergeRel
/// times the first step's |loss| (floored at 1, so a tiny initial MSE does not make an ordinary
/// fluctuation count as divergence). Whichever threshold is lower applies; the absolute value
/// catches losses that run off to -inf (nll on raw outputs, a flipped sign).
constexpr double kDivergeAbs = 1e5;
constexpr double kDivergeRel = 1e3;
/// Evaluation batch size: evaluation runs without autograd, so a larger batch is cheaper.
constexpr int64_t kEvalBatch = 1024;

using Clock = std::chrono::steady_clock;

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

/// XXH3-128 of the bytes of every tensor, in order (TrainOptions::on_step).
std::string state_hash(const std::vector<NamedParam>& params,
                       const std::vector<NamedParam>& buffers) {
  std::string bytes;
  for (const auto* list : {&params, &buffers}) {
    for (const auto& p : *list) {
      const torch::Tensor t = p.tensor.detach().contiguous();
      bytes.append(static_cast<const char*>(t.data_ptr()), t.numel() * t.element_size());
    }
  }
  return hash128_hex(bytes);
}

/// Seed stream of the probe generator (probe batch, curvature vectors); far from the pipeline's
/// streams (runner/data_pipeline.h) so that adding one there never collides with it.
constexpr uint64_t kProbeStream = 0x70726f6265;  // "probe"

/// The probes of one run: what the cadences ask at each point of training, on a fixed probe
/// batch. None of them changes what training computes (see ProbeOptions). A probe that throws
/// (an operation without a double backward in a custom model, say) is counted in
/// `probe/failures` and skipped: observing must never change a run's outcome.
class RunProbes {
 public:
  RunProbes(const ProbeOptions& o, NetImpl& net, std::vector<NamedParam>& params, Recorder& rec,
            uint64_t seed, const TrainOptions& options)
      : o_(o),
        net_(net),
        params_(params),
        rec_(rec),
        options_(options),
        acts_(net),
        curvature_(probes::CurvatureSettings{o.curvature_method, o.curvature_iterations,
                                             o.curvature_tol, o.hutchinson_samples,
                                             programs::mix_seed(seed, 1)}) {}

  /// Chooses the probe batch once per run: the first probe_batch samples of a permutation drawn
  /// from the probe generator (not the training's shuffling generator).
  void choose_batch(const torch::Tensor& x, const torch::Tensor& y, uint64_t seed) {
    const bool acts = !o_.activations.is_off() && !acts_.empty();
    if ((!acts && o_.curvature.is_off()) || x.size(0) == 0) return;
    at::Generator gen = at::detail::createCPUGenerator(seed);
    const torch::Tensor idx =
        torch::randperm(x.size(0), gen).narrow(0, 0, std::min(o_.probe_batch, x.size(0)));
    x_ = x.index_select(0, idx);
    y_ = y.index_select(0, idx);
  }

  /// Gradient statistics at `at` (after backward, before clipping and the optimizer step).
  void gradients(int64_t at) {
    guarded([&] { probes::record_gradients(params_, rec_, at, unix_ms()); });
  }

  /// Parameter copies before the optimizer step whose update ratio is recorded.
  void snapshot() { before_ = probes::snapshot(params_); }
  void update_ratios(int64_t at) {
    guarded([&] { probes::record_update_ratios(params_, before_, rec_, at, unix_ms()); });
    before_.clear();
  }

  /// The state probes a point of training asks for: weights, activations, optimizer.
  void state(bool weights, bool acts, bool opt, int64_t at,
             const torch::optim::Optimizer& optimizer) {
    if (weights) guarded([&] { probes::record_weights(params_, rec_, at, unix_ms()); });
    if (acts && x_.defined()) guarded([&] { acts_.record(net_, x_, rec_, at, unix_ms()); });
    if (opt) guarded([&] { probes::record_optimizer(optimizer, params_, rec_, at, unix_ms()); });
  }

  /// A curvature reading recorded under `at`, taken after `updates` optimizer updates; a second
  /// reading under the same index (a run that stops right after an early reading) is skipped:
  /// the parameters have not moved since.
  void curvature(int64_t at, int64_t updates, const Recipe& r, int64_t num_classes,
                 const torch::optim::Optimizer& optimizer,
                 const std::vector<torch::Tensor>& penalised) {
    if (!x_.defined() || at == last_curvature_) return;
    last_curvature_ = at;
    guarded([&] { measure_curvature(at, updates, r, num_classes, optimizer, penalised); });
  }

  int64_t failures() const { return failures_; }

 private:
  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception&) {  // c10::Error derives from std::exception
      ++failures_;
    }
  }

  /// Curvature of the objective the optimizer minimises (loss, L1/L2 penalty, a flipped sign
  /// included) on the first curvature_batch probe samples, in the mode ProbeOptions asks for
  /// (train: the mode the training steps run in, which a training-loop fault may have left at
  /// eval), and the stability ratio of the optimizer's next update.
  void measure_curvature(int64_t at, int64_t updates, const Recipe& r, int64_t num_classes,
                         const torch::optim::Optimizer& optimizer,
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

  const ProbeOptions& o_;
  NetImpl& net_;
  std::vector<NamedParam>& params_;
  Recorder& rec_;
  const TrainOptions& options_;
  probes::ActivationProbe acts_;
  probes::CurvatureProbe curvature_;
  torch::Tensor x_, y_;
  std::vector<torch::Tensor> before_;
  int64_t last_curvature_ = -1;
  int64_t failures_ = 0;
};

}  // namespace

db::RunResult train(const Recipe& recipe, int64_t seed, const TrainOptions& options) {
  db::RunResult result;
  result.start_time = unix_ms();
  // One intra-op thread per run is the design (parallelism comes from processes); the worker
  // sets the campaign's count at start-up, this only makes a forgotten call harmless.
  DYNFAULT_CHECK(options.threads >= 1 && options.threads <= 256,
                 "train(): threads must be in [1, 256], got ", options.threads);
  if (torch::get_num_threads() != options.threads)
    torch::set_num_threads(static_cast<int>(options.threads));
  validate(recipe);
  (options.probes ? options.probe : ProbeOptions::none()).validate();

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
  const int64_t planned_steps = options.max_steps > 0
                                    ? std::min(options.max_steps, recipe.epochs * batches)
                                    : recipe.epochs * batches;
  const ProbeOptions po =
      (options.probes ? options.probe : ProbeOptions::none())
          .for_run(recipe.epochs, planned_steps, batches);
  // Curvature readings before these updates of the first epoch (early_steps: log); the curvature
  // series are then indexed by the updates applied, epoch readings included.
  const std::vector<int64_t> early_curvature = po.early_curvature_steps(batches, planned_steps);
  const bool curvature_by_updates = po.curvature_early_steps && !po.curvature.is_off();
  const uint64_t probe_seed =
      programs::mix_seed(programs::mix_seed(useed, kProbeStream), static_cast<uint64_t>(po.seed));
  const bool has_penalty = recipe.l1 > 0 || recipe.l2 > 0;
  std::string outcome = "completed";
  int64_t step = 0;
  int64_t last_epoch = -1;
  int64_t probe_failures = 0;
  double probe_total_ms = 0;  // time spent in probes, left out of the cooperative timeout
  std::vector<NamedParam> params;
  std::vector<NamedParam> buffers;     // batch-norm running statistics (on_final_weights)
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
    for (const auto& kv : net.named_buffers()) buffers.push_back({kv.key(), kv.value()});

    std::unique_ptr<torch::optim::Optimizer> optimizer =
        make_optimizer(recipe.optimizer, net.parameters());
    std::vector<double> base_lr;
    for (auto& g : optimizer->param_groups()) base_lr.push_back(g.options().get_lr());

    RunProbes run_probes(po, net, params, rec, probe_seed, options);
    run_probes.choose_batch(train_t.x, train_t.y, probe_seed);
    // A family's series are indexed by step under a step cadence, by epoch otherwise.
    const auto at = [&](const Cadence& c, int64_t epoch) {
      return c.counts_steps() ? step : epoch;
    };

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
      rec.add("epoch/lr", epoch, optimizer->param_groups()[0].options().get_lr(), unix_ms());

      net.train(recipe.loop.train_mode);
      const torch::Tensor perm =
          recipe.loop.shuffle ? torch::randperm(n, shuffle_gen) : torch::Tensor();
      const bool last_epoch_planned = epoch + 1 == recipe.epochs;
      MetricAccumulator train_metric(recipe.loss, num_classes > 0);
      double loss_sum = 0, step_ms_sum = 0;
      int64_t seen = 0, steps_in_epoch = 0;

      for (int64_t b = 0; b < batches; ++b) {
        if (epoch == 0 &&
            std::binary_search(early_curvature.begin(), early_curvature.end(), step)) {
          const Clock::time_point early_start = Clock::now();
          run_probes.curvature(step, step, recipe, num_classes, *optimizer, weights);
          probe_total_ms += ms_between(early_start, Clock::now());
        }
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
        // The last step of an epoch that an epoch cadence records (its gradients, and the
        // weight change it makes for the update ratio).
        const bool epoch_end = b == batches - 1 || last_step;
        const bool is_final = last_epoch_planned || last_step;
        const Clock::time_point probe_start = Clock::now();
        const Cadence& gc = po.gradients;
        if (gc.at_step(step) || (epoch_end && gc.at_epoch(epoch, is_final)) ||
            (!terminal.empty() && !gc.is_off()))
          run_probes.gradients(at(gc, epoch));
        const Cadence& wc = po.weights;
        const bool update_ratio =
            terminal.empty() && (wc.at_step(step) || (epoch_end && wc.at_epoch(epoch, is_final)));
        if (update_ratio) run_probes.snapshot();
        const double probe_ms = ms_between(probe_start, Clock::now());
        if (!terminal.empty()) {
          // The step that produced the bad loss is recorded but not applied.
          rec.add("train/loss", step, loss_value, unix_ms());
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
        const int64_t ts = unix_ms();
        const double step_ms = ms_between(start, end) - probe_ms;
        rec.add("train/loss", step, loss_value, ts);
        if (po.timing.at_step(step)) rec.add("time/step_ms", step, step_ms, ts);
        step_ms_sum += step_ms;
        ++steps_in_epoch;
        if (update_ratio) run_probes.update_ratios(at(wc, epoch));
        run_probes.state(wc.at_step(step), po.activations.at_step(step), po.optimizer.at_step(step),
                         step, *optimizer);
        if (po.curvature.at_step(step))
          run_probes.curvature(step, step + 1, recipe, num_classes, *optimizer, weights);
        probe_total_ms += probe_ms + ms_between(end, Clock::now());
        if (options.on_step) options.on_step(step, state_hash(params, buffers));
        ++step;
        if (last_step) {
          stop = true;
          break;
        }
        // Probe time does not count: observing a run must not turn it into a timeout.
        if (options.timeout_s > 0 &&
            ms_between(t0, end) - probe_total_ms > options.timeout_s * 1000.0) {
          outcome = "timeout";
          stop = true;
          break;
        }
        if (options.on_progress && ms_between(last_progress, end) >= 1000.0) {
          last_progress = end;
          options.on_progress();
        }
      }

      // End of the epoch (also of a partial one when training stops): curves, early stopping,
      // then the epoch-cadence probes (which now know whether this epoch is the last).
      const int64_t ts = unix_ms();
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
      if (recipe.patience > 0 && !stop) {
        // Keras EarlyStopping(min_delta=0): an epoch improves only if strictly better.
        if (monitor < best) {
          best = monitor;
          epochs_without_improvement = 0;
        } else if (++epochs_without_improvement >= recipe.patience) {
          stop = true;
        }
      }
      const bool is_final = stop || last_epoch_planned;
      const Clock::time_point probes_start = Clock::now();
      run_probes.state(po.weights.at_epoch(epoch, is_final),
                       po.activations.at_epoch(epoch, is_final),
                       po.optimizer.at_epoch(epoch, is_final), epoch, *optimizer);
      if (po.curvature.at_epoch(epoch, is_final))
        run_probes.curvature(curvature_by_updates ? step : epoch, step, recipe, num_classes,
                             *optimizer, weights);
      if (po.timing.at_epoch(epoch, is_final) && steps_in_epoch > 0)
        rec.add("time/step_ms", epoch, step_ms_sum / static_cast<double>(steps_in_epoch), unix_ms());
      probe_total_ms += ms_between(probes_start, Clock::now());
    }
    probe_failures = run_probes.failures();
    if (last_epoch >= 0) {
      const Evaluation ev = evaluate(net, test_t, recipe, num_classes, weights);
      const int64_t ts = unix_ms();
      rec.add("final/test_loss", last_epoch, ev.loss, ts);
      rec.add("final/test_metric", last_epoch, ev.metric, ts);
      if (probe_failures > 0)
        rec.add("probe/failures", last_epoch, static_cast<double>(probe_failures), ts);
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
    const auto add = [&](const std::string& name, const torch::Tensor& t) {
      const torch::Tensor w = t.detach().to(torch::kFloat).contiguous().reshape({-1});
      final_weights[name] =
          std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    };
    for (const auto& p : params) add(p.name, p.tensor);
    for (const auto& b : buffers) add(b.name, b.tensor);
    options.on_final_weights(final_weights);
  }

  result.status = "FINISHED";
  result.outcome = outcome;
  result.end_time = unix_ms();
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
