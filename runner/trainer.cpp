#include "runner/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/clock.h"
#include "common/hash.h"
#include "runner/data_pipeline.h"
#include "runner/losses.h"
#include "runner/model_builder.h"
#include "runner/optimizers.h"
#include "runner/outcome.h"
#include "runner/probes.h"
#include "runner/run_probes.h"

namespace dynfault::runner {

using probes::ModeGuard;
using probes::NamedParam;
using probes::Recorder;
using programs::Dataset;
using programs::Recipe;

namespace {

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
  if (s.name == "step") {
    const int64_t decays = epoch / s.step_size;  // whole steps only, as StepLR
    return std::pow(s.gamma, static_cast<double>(decays));
  }
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

/// What one run trains on and how its steps and probes are laid out: all that is fixed before
/// the model is built. Computed outside the outcome barrier: a failure here is missing data,
/// which train() throws.
struct RunPlan {
  PreparedData data;
  Tensors train, val, test;
  int64_t num_classes = 0;
  int64_t n = 0;              ///< training samples
  int64_t batch_size = 0;     ///< the recipe's, or the whole training set for batch_size 0
  int64_t batches = 0;        ///< per epoch
  int64_t planned_steps = 0;  ///< all epochs' steps, or max_steps when fewer
  ProbeOptions probes;        ///< what the run's probes record, capped for its length
  /// Curvature readings before these updates of the first epoch (early_steps: log); the curvature
  /// series are then indexed by the updates applied, epoch readings included.
  std::vector<int64_t> early_curvature;
  bool curvature_by_updates = false;
  uint64_t shuffle_seed = 0;  ///< the mini-batch permutation generator's
  uint64_t probe_seed = 0;    ///< the probe generator's (probe batch, curvature vectors)
};

RunPlan plan_run(const Recipe& recipe, uint64_t seed, const TrainOptions& options) {
  RunPlan p;
  p.data = prepare_data(recipe.data, seed);
  p.num_classes = p.data.train.num_classes;
  p.train = to_tensors(p.data.train);
  p.val = to_tensors(p.data.val);
  p.test = to_tensors(p.data.test);
  p.n = p.train.size();
  // batch_size 0 = the whole training set in one batch (DeepCrime's HDB operator).
  p.batch_size = recipe.batch_size > 0 ? recipe.batch_size : std::max<int64_t>(p.n, 1);
  p.batches = (p.n + p.batch_size - 1) / p.batch_size;
  p.planned_steps = options.max_steps > 0 ? std::min(options.max_steps, recipe.epochs * p.batches)
                                          : recipe.epochs * p.batches;
  p.probes = (options.probes ? options.probe : ProbeOptions::none())
                 .for_run(recipe.epochs, p.planned_steps, p.batches);
  p.early_curvature = p.probes.early_curvature_steps(p.batches, p.planned_steps);
  p.curvature_by_updates = p.probes.curvature_early_steps && !p.probes.curvature.is_off();
  p.shuffle_seed = programs::mix_seed(seed, kShuffleStream);
  p.probe_seed = programs::mix_seed(programs::mix_seed(seed, kProbeStream),
                                    static_cast<uint64_t>(p.probes.seed));
  return p;
}

/// Sums over the steps of one epoch: its curves and its mean step time.
struct EpochSums {
  EpochSums(const std::string& loss, bool classes) : metric(loss, classes) {}
  MetricAccumulator metric;
  double loss_sum = 0, step_ms_sum = 0;
  int64_t seen = 0, steps = 0;
};

/// Where a step stands in the run, for the cadences of its probes.
struct StepPoint {
  int64_t epoch = 0;
  bool last_step = false;  ///< max_steps is reached with this step
  /// The last step of an epoch that an epoch cadence records (its gradients, and the weight
  /// change it makes for the update ratio).
  bool epoch_end = false;
  bool is_final = false;  ///< in the last planned epoch, or the last step
};

/// One run's training after its plan: the model, its optimizer and probes, and where the loop
/// stands. Each step's loss passes the outcome rules (runner/outcome.h).
class Training {
 public:
  Training(const Recipe& recipe, const TrainOptions& options, const RunPlan& plan,
           std::vector<db::MetricPoint>& metrics)
      : r_(recipe),
        options_(options),
        plan_(plan),
        po_(plan.probes),
        rec_(metrics),
        shuffle_gen_(at::detail::createCPUGenerator(plan.shuffle_seed)),
        t0_(Clock::now()),
        last_progress_(t0_),
        has_penalty_(recipe.l1 > 0 || recipe.l2 > 0) {}

  /// Builds the model and trains it: the epochs, then the test evaluation. A loss or the clock
  /// ends training with an outcome; exceptions (LibTorch's, a model that cannot be built) pass
  /// through to train(), which records them.
  void run() {
    build();
    for (int64_t epoch = 0; epoch < r_.epochs && !stop_; ++epoch) run_epoch(epoch);
    record_test();
  }

  const std::string& outcome() const { return outcome_; }

  /// Copies of the final parameters and buffers (TrainOptions::on_final_weights).
  std::map<std::string, std::vector<float>> final_weights() const {
    std::map<std::string, std::vector<float>> out;
    const auto add = [&](const std::string& name, const torch::Tensor& t) {
      const torch::Tensor w = t.detach().to(torch::kFloat).contiguous().reshape({-1});
      out[name] = std::vector<float>(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
    };
    for (const auto& p : params_) add(p.name, p.tensor);
    for (const auto& b : buffers_) add(b.name, b.tensor);
    return out;
  }

 private:
  /// The model, its optimizer and the run's probes with their probe batch. Inside the outcome
  /// barrier: a layer list that no longer fits its data after a mutation (a kernel larger than
  /// its feature map) is a training outcome, as the Python program would crash.
  void build() {
    net_ = build_model(r_, plan_.data.train.sample_shape, plan_.data.train.integer_inputs).net;
    for (const auto& kv : net_->named_parameters()) {
      params_.push_back({kv.key(), kv.value()});
      if (kv.value().dim() >= 2) weights_.push_back(kv.value());
    }
    for (const auto& kv : net_->named_buffers()) buffers_.push_back({kv.key(), kv.value()});
    optimizer_ = make_optimizer(r_.optimizer, net_->parameters());
    for (auto& g : optimizer_->param_groups()) base_lr_.push_back(g.options().get_lr());
    probes_ = std::make_unique<RunProbes>(po_, *net_, params_, rec_, plan_.probe_seed, options_);
    probes_->choose_batch(plan_.train.x, plan_.train.y, plan_.probe_seed);
  }

  void run_epoch(int64_t epoch) {
    last_epoch_ = epoch;
    set_learning_rate(epoch);
    net_->train(r_.loop.train_mode);
    const torch::Tensor perm =
        r_.loop.shuffle ? torch::randperm(plan_.n, shuffle_gen_) : torch::Tensor();
    EpochSums sums(r_.loss, plan_.num_classes > 0);
    for (int64_t b = 0; b < plan_.batches && !stop_; ++b) step(epoch, b, perm, sums);
    end_epoch(epoch, sums);
  }

  /// The schedule's learning rate for `epoch`, recorded under epoch/lr.
  void set_learning_rate(int64_t epoch) {
    if (r_.schedule.name != "none") {
      const double f = schedule_factor(r_.schedule, epoch);
      auto& groups = optimizer_->param_groups();
      for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(base_lr_[i] * f);
    }
    rec_.add("epoch/lr", epoch, optimizer_->param_groups()[0].options().get_lr(), unix_ms());
  }

  /// One optimizer step on batch `b`: the early curvature reading due before it, forward and
  /// backward, the outcome rules on its loss, the probes around the update and the update.
  void step(int64_t epoch, int64_t b, const torch::Tensor& perm, EpochSums& sums) {
    if (epoch == 0) early_curvature();
    const Clock::time_point start = Clock::now();
    const double loss = forward_backward(b, perm, sums);
    const std::string terminal = losses_.terminal(loss);
    StepPoint at;
    at.epoch = epoch;
    at.last_step = options_.max_steps > 0 && step_ + 1 >= options_.max_steps;
    at.epoch_end = b == plan_.batches - 1 || at.last_step;
    at.is_final = epoch + 1 == r_.epochs || at.last_step;
    const Clock::time_point probe_start = Clock::now();
    const bool update_ratio = probe_before_update(at, !terminal.empty());
    const double probe_ms = ms_between(probe_start, Clock::now());
    if (!terminal.empty()) {
      // The step that produced the bad loss is recorded but not applied.
      rec_.add("train/loss", step_, loss, unix_ms());
      outcome_ = terminal;
      stop_ = true;
      return;
    }
    apply_update();
    const Clock::time_point end = Clock::now();
    record_step(loss, ms_between(start, end) - probe_ms, sums);
    probe_after_update(at, update_ratio);
    probe_total_ms_ += probe_ms + ms_between(end, Clock::now());
    if (options_.on_step) options_.on_step(step_, state_hash(params_, buffers_));
    ++step_;
    after_step(at.last_step, end);
  }

  /// The curvature reading of the first epoch due before the current update, if any.
  void early_curvature() {
    if (!std::binary_search(plan_.early_curvature.begin(), plan_.early_curvature.end(), step_))
      return;
    const Clock::time_point start = Clock::now();
    probes_->curvature(step_, step_, r_, plan_.num_classes, *optimizer_, weights_);
    probe_total_ms_ += ms_between(start, Clock::now());
  }

  /// Forward and backward on batch `b` (of the permutation `perm` when shuffling); returns the
  /// loss and adds it to the epoch's sums.
  double forward_backward(int64_t b, const torch::Tensor& perm, EpochSums& sums) {
    const int64_t lo = b * plan_.batch_size;
    const int64_t len = std::min(plan_.batch_size, plan_.n - lo);
    torch::Tensor xb, yb;
    if (perm.defined()) {
      const torch::Tensor idx = perm.narrow(0, lo, len);
      xb = plan_.train.x.index_select(0, idx);
      yb = plan_.train.y.index_select(0, idx);
    } else {
      xb = plan_.train.x.narrow(0, lo, len);
      yb = plan_.train.y.narrow(0, lo, len);
    }
    if (r_.loop.zero_grad) optimizer_->zero_grad();
    const torch::Tensor out = net_->forward(xb);
    torch::Tensor loss = compute_loss(r_.loss, out, yb, plan_.num_classes);
    if (has_penalty_) loss = loss + penalty(weights_, r_.l1, r_.l2);
    (r_.loop.loss_sign_flip ? -loss : loss).backward();
    const double value = loss.item<double>();
    sums.metric.add(out, yb);
    sums.loss_sum += value * static_cast<double>(len);
    sums.seen += len;
    return value;
  }

  /// The probes before the update: gradients (also those of a step whose loss ends training,
  /// whatever the cadence's point), and the weight copy for the update ratio; true when that
  /// copy was taken.
  bool probe_before_update(const StepPoint& at, bool terminal) {
    const Cadence& gc = po_.gradients;
    if (gc.at_step(step_) || (at.epoch_end && gc.at_epoch(at.epoch, at.is_final)) ||
        (terminal && !gc.is_off()))
      probes_->gradients(index(gc, at.epoch));
    const Cadence& wc = po_.weights;
    const bool update_ratio =
        !terminal && (wc.at_step(step_) || (at.epoch_end && wc.at_epoch(at.epoch, at.is_final)));
    if (update_ratio) probes_->snapshot();
    return update_ratio;
  }

  void apply_update() {
    if (r_.clip_norm > 0) torch::nn::utils::clip_grad_norm_(net_->parameters(), r_.clip_norm);
    if (r_.clip_value > 0) torch::nn::utils::clip_grad_value_(net_->parameters(), r_.clip_value);
    optimizer_->step();
  }

  /// The applied step's loss and time (probe time left out).
  void record_step(double loss, double step_ms, EpochSums& sums) {
    const int64_t ts = unix_ms();
    rec_.add("train/loss", step_, loss, ts);
    if (po_.timing.at_step(step_)) rec_.add("time/step_ms", step_, step_ms, ts);
    sums.step_ms_sum += step_ms;
    ++sums.steps;
  }

  /// The probes after the update: update ratios, then the step cadences' state and curvature.
  void probe_after_update(const StepPoint& at, bool update_ratio) {
    const Cadence& wc = po_.weights;
    if (update_ratio) probes_->update_ratios(index(wc, at.epoch));
    probes_->state(wc.at_step(step_), po_.activations.at_step(step_), po_.optimizer.at_step(step_),
                   step_, *optimizer_);
    if (po_.curvature.at_step(step_))
      probes_->curvature(step_, step_ + 1, r_, plan_.num_classes, *optimizer_, weights_);
  }

  /// After an applied step: max_steps or the timeout ends training; else the heartbeat, about
  /// once a second.
  void after_step(bool last_step, Clock::time_point end) {
    if (last_step) {
      stop_ = true;
      return;
    }
    if (past_timeout(options_.timeout_s, ms_between(t0_, end), probe_total_ms_)) {
      outcome_ = "timeout";
      stop_ = true;
      return;
    }
    if (options_.on_progress && ms_between(last_progress_, end) >= 1000.0) {
      last_progress_ = end;
      options_.on_progress();
    }
  }

  /// End of an epoch (also of a partial one when training stops): curves, early stopping, then
  /// the epoch-cadence probes (which now know whether this epoch is the last).
  void end_epoch(int64_t epoch, const EpochSums& sums) {
    const double monitor = record_epoch_curves(epoch, sums);
    if (r_.patience > 0 && !stop_) early_stopping(monitor);
    const bool is_final = stop_ || epoch + 1 == r_.epochs;
    const Clock::time_point start = Clock::now();
    probes_->state(po_.weights.at_epoch(epoch, is_final), po_.activations.at_epoch(epoch, is_final),
                   po_.optimizer.at_epoch(epoch, is_final), epoch, *optimizer_);
    if (po_.curvature.at_epoch(epoch, is_final))
      probes_->curvature(plan_.curvature_by_updates ? step_ : epoch, step_, r_, plan_.num_classes,
                         *optimizer_, weights_);
    if (po_.timing.at_epoch(epoch, is_final) && sums.steps > 0)
      rec_.add("time/step_ms", epoch, sums.step_ms_sum / static_cast<double>(sums.steps),
               unix_ms());
    probe_total_ms_ += ms_between(start, Clock::now());
  }

  /// The epoch's training and validation curves; returns what early stopping monitors (the
  /// validation loss, or the training loss without a validation part).
  double record_epoch_curves(int64_t epoch, const EpochSums& sums) {
    const int64_t ts = unix_ms();
    const double train_loss = sums.seen > 0 ? sums.loss_sum / static_cast<double>(sums.seen)
                                            : std::numeric_limits<double>::quiet_NaN();
    rec_.add("epoch/train_loss", epoch, train_loss, ts);
    rec_.add("epoch/train_metric", epoch, sums.metric.value(), ts);
    if (plan_.val.size() == 0) return train_loss;
    const Evaluation ev = evaluate(*net_, plan_.val, r_, plan_.num_classes, weights_);
    rec_.add("epoch/val_loss", epoch, ev.loss, ts);
    rec_.add("epoch/val_metric", epoch, ev.metric, ts);
    return ev.loss;
  }

  /// Keras EarlyStopping(min_delta=0): an epoch improves only if strictly better.
  void early_stopping(double monitor) {
    if (monitor < best_) {
      best_ = monitor;
      epochs_without_improvement_ = 0;
    } else if (++epochs_without_improvement_ >= r_.patience) {
      stop_ = true;
    }
  }

  /// final/test_* and probe/failures under the last epoch trained.
  void record_test() {
    if (last_epoch_ < 0) return;
    const int64_t failures = probes_->failures();
    const Evaluation ev = evaluate(*net_, plan_.test, r_, plan_.num_classes, weights_);
    const int64_t ts = unix_ms();
    rec_.add("final/test_loss", last_epoch_, ev.loss, ts);
    rec_.add("final/test_metric", last_epoch_, ev.metric, ts);
    if (failures > 0) rec_.add("probe/failures", last_epoch_, static_cast<double>(failures), ts);
  }

  /// A family's series are indexed by step under a step cadence, by epoch otherwise.
  int64_t index(const Cadence& c, int64_t epoch) const { return c.counts_steps() ? step_ : epoch; }

  const Recipe& r_;
  const TrainOptions& options_;
  const RunPlan& plan_;
  const ProbeOptions& po_;
  Recorder rec_;
  at::Generator shuffle_gen_;
  Clock::time_point t0_, last_progress_;
  const bool has_penalty_;
  std::shared_ptr<NetImpl> net_;
  std::vector<NamedParam> params_;
  std::vector<NamedParam> buffers_;     // batch-norm running statistics (on_final_weights)
  std::vector<torch::Tensor> weights_;  // tensors the L1/L2 penalty applies to (no biases)
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<double> base_lr_;
  std::unique_ptr<RunProbes> probes_;
  LossWatch losses_;
  std::string outcome_ = "completed";
  int64_t step_ = 0;
  int64_t last_epoch_ = -1;
  double probe_total_ms_ = 0;  // time spent in probes, left out of the cooperative timeout
  double best_ = std::numeric_limits<double>::infinity();
  int64_t epochs_without_improvement_ = 0;
  bool stop_ = false;
};

/// One intra-op thread per run is the design (parallelism comes from processes); the worker
/// sets the campaign's count at start-up, this only makes a forgotten call harmless.
void use_threads(int64_t threads) {
  DYNFAULT_CHECK(threads >= 1 && threads <= 256, "train(): threads must be in [1, 256], got ",
                 threads);
  if (torch::get_num_threads() != threads) torch::set_num_threads(static_cast<int>(threads));
}

}  // namespace

db::RunResult train(const Recipe& recipe, int64_t seed, const TrainOptions& options) {
  db::RunResult result;
  result.start_time = unix_ms();
  use_threads(options.threads);
  validate(recipe);
  (options.probes ? options.probe : ProbeOptions::none()).validate();
  // Seed first: model initialisation and dropout draw from the global generator; the data
  // pipeline and the shuffling generator use their own streams derived from the same seed.
  torch::manual_seed(static_cast<uint64_t>(seed));
  const RunPlan plan = plan_run(recipe, static_cast<uint64_t>(seed), options);
  Training training(recipe, options, plan, result.metrics);
  std::string outcome;
  try {
    training.run();
    outcome = training.outcome();
  } catch (const c10::Error& e) {
    outcome = "exception";
    result.error = e.what_without_backtrace();
  } catch (const std::exception& e) {
    outcome = "exception";
    result.error = e.what();
  }
  if (options.on_final_weights && outcome != "exception")
    options.on_final_weights(training.final_weights());
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
