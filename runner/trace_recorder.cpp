#include "runner/trace_recorder.h"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>
#include <vector>

#include "common/check.h"
#include "common/clock.h"
#include "common/hash.h"
#include "db/database.h"
#include "db/store.h"
#include "runner/outcome.h"
#include "runner/probes.h"

namespace dynfault {

using runner::probes::NamedParam;
using runner::probes::Recorder;
namespace probes = runner::probes;

namespace {

/// Config text and hash of the campaigns the recorder creates (constant: every recording of a
/// campaign is "the same campaign"; a planned campaign of that name is refused by upsert).
constexpr const char* kCampaignText =
    "# Runs recorded from user training loops by dynfault::TraceRecorder (docs/recorder.md).\n"
    "recorder: trace_recorder\n";
constexpr const char* kCampaignHash = "trace_recorder";

using Clock = std::chrono::steady_clock;

std::string fresh_run_name() {
  std::random_device rd;
  const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return "run-" + std::to_string(unix_ms()) + "-" + std::to_string(r);
}

}  // namespace

struct TraceRecorder::Impl {
  db::Store store;
  std::string program;
  RecorderOptions opt;
  ProbeOptions po;
  db::RunSpec spec;
  db::RunResult result;
  Recorder rec{result.metrics};

  // watch()
  std::vector<NamedParam> params;
  torch::optim::Optimizer* optimizer = nullptr;
  bool watched = false;
  std::vector<torch::Tensor> before, after;  // weights before / after the last step

  int64_t step = 0;
  int64_t last_epoch = -1;
  runner::LossWatch losses;  // the trainer's outcome rules (runner/outcome.h)
  std::string detected = "completed";
  Clock::time_point mark = Clock::now();
  double step_ms_sum = 0;
  int64_t steps_in_epoch = 0;
  double last_epoch_step_ms = std::numeric_limits<double>::quiet_NaN();
  // Last epoch each epoch-cadence family recorded (finish() records a missed last epoch).
  int64_t grad_epoch = -1, weight_epoch = -1, opt_epoch = -1, time_epoch = -1;
  int64_t failures = 0;
  bool done = false;

  Impl(db::Store s, std::string prog, RecorderOptions o)
      : store(std::move(s)), program(std::move(prog)), opt(std::move(o)) {}

  void check_open(const char* what) const {
    DYNFAULT_CHECK(!done, "TraceRecorder::", what, "(): the run ", spec.run_uuid,
                   " was already written by finish()/fail()");
  }

  template <typename F>
  void guarded(F&& f) {
    try {
      f();
    } catch (const std::exception&) {  // c10::Error derives from std::exception
      ++failures;
    }
  }

  void gradients(int64_t at) {
    guarded([&] { probes::record_gradients(params, rec, at, unix_ms()); });
  }
  void weights(int64_t at, bool ratio) {
    if (ratio && !before.empty())
      guarded([&] { probes::record_update_ratios(params, before, rec, at, unix_ms()); });
    guarded([&] { probes::record_weights(params, rec, at, unix_ms()); });
  }
  void optimizer_state(int64_t at) {
    if (optimizer != nullptr)
      guarded([&] { probes::record_optimizer(*optimizer, params, rec, at, unix_ms()); });
  }

  /// before <- after, after <- the current weights (one copy per step while weights are probed).
  void rotate_snapshots() {
    torch::NoGradGuard no_grad;
    std::swap(before, after);
    if (after.size() != params.size()) {
      after = probes::snapshot(params);
      return;
    }
    for (size_t i = 0; i < params.size(); ++i) after[i].copy_(params[i].tensor.detach());
  }

  std::string write(const std::string& status, const std::string& outcome,
                    const std::string& error) {
    // Epoch-cadence families always hold the last epoch: record it now if its cadence skipped it
    // (the loop's state has not changed since on_epoch).
    if (last_epoch >= 0) {
      const int64_t e = last_epoch;
      if (watched) {
        if (po.gradients.counts_epochs() && grad_epoch != e) gradients(e);
        if (po.weights.counts_epochs() && weight_epoch != e) weights(e, true);
        if (po.optimizer.counts_epochs() && opt_epoch != e) optimizer_state(e);
      }
      if (po.timing.counts_epochs() && time_epoch != e && std::isfinite(last_epoch_step_ms))
        rec.add("time/step_ms", e, last_epoch_step_ms, unix_ms());
    }
    if (failures > 0)
      rec.add("probe/failures", std::max<int64_t>(last_epoch, 0), static_cast<double>(failures),
              unix_ms());
    result.run_uuid = spec.run_uuid;
    result.status = status;
    result.outcome = outcome;
    result.error = error;
    result.end_time = unix_ms();

    db::Transaction tx(store.database());
    store.upsert_campaign(spec.campaign, kCampaignText, kCampaignHash);
    bool known = false;
    for (const auto& p : store.programs()) known = known || p.id == program;
    if (!known) {
      db::ProgramRow row;
      row.id = program;
      row.family = spec.family;
      row.task = spec.task;
      row.dataset = opt.dataset;
      row.source = opt.source;
      row.changes = "recorded from a user training loop by dynfault::TraceRecorder";
      row.metric = spec.task == "regression" ? "r2" : "accuracy";
      row.satisfactory = std::numeric_limits<double>::quiet_NaN();
      store.upsert_program(row);
    }
    store.insert_runs({spec});
    store.write_result(result);
    tx.commit();
    done = true;
    return spec.run_uuid;
  }
};

TraceRecorder::TraceRecorder(const std::string& db_path, const std::string& program,
                             const ProbeOptions& probes)
    : TraceRecorder(db_path, program, [&] {
        RecorderOptions o;
        o.probes = probes;
        return o;
      }()) {}

TraceRecorder::TraceRecorder(const std::string& db_path, const std::string& program,
                             RecorderOptions options) {
  using nlohmann::json;
  const std::string who = "TraceRecorder(" + db_path + ", '" + program + "'): ";
  DYNFAULT_CHECK(!program.empty(), who, "the program id must not be empty");
  DYNFAULT_CHECK(!options.campaign.empty(), who, "the campaign name must not be empty");
  DYNFAULT_CHECK(!options.family.empty(), who, "the family must not be empty");
  DYNFAULT_CHECK(
      options.task == "multiclass" || options.task == "binary" || options.task == "regression", who,
      "task must be multiclass, binary or regression, got '", options.task, "'");
  DYNFAULT_CHECK(options.num_classes >= 0 && options.epochs >= 0, who,
                 "num_classes and epochs must be >= 0");
  options.probes.validate();
  const json faults = json::parse(options.faults_json.empty() ? "[]" : options.faults_json, nullptr,
                                  /*allow_exceptions=*/false);
  DYNFAULT_CHECK(faults.is_array(), who, "faults_json must be a JSON array, got '",
                 options.faults_json, "'");
  std::string fault_ids;
  for (const auto& f : faults) {
    DYNFAULT_CHECK(f.is_object() && f.contains("mutator") && f["mutator"].is_string(), who,
                   "every fault in faults_json needs a \"mutator\" string, got ", f.dump());
    fault_ids += (fault_ids.empty() ? "" : "+") + f["mutator"].get<std::string>();
  }
  if (options.run_name.empty()) options.run_name = fresh_run_name();

  db::Store store = db::Store::open(db_path, /*create=*/true);
  impl_ = std::make_unique<Impl>(std::move(store), program, options);
  Impl& m = *impl_;
  m.po = options.epochs > 0 ? options.probes.for_run(options.epochs, 0) : options.probes;

  // What features and labels read from the recipe: epochs (planned_epochs) and the output width
  // of the last linear layer (chance_level); the rest says where the run came from.
  json recipe = {{"recorded_by", "dynfault::TraceRecorder"},
                 {"program", program},
                 {"family", options.family},
                 {"task", options.task},
                 {"run_name", options.run_name}};
  if (options.epochs > 0) recipe["epochs"] = options.epochs;
  if (options.task == "multiclass" && options.num_classes > 0)
    recipe["layers"] = json::array({{{"type", "linear"}, {"out", options.num_classes}}});
  const json id = {{"campaign", options.campaign},
                   {"program", program},
                   {"faults", faults},
                   {"seed", options.seed},
                   {"recipe", recipe}};
  // Probes are no part of the run id (as for planned runs), but are kept with the recipe.
  recipe["probes"] = json::parse(m.po.to_json());

  db::RunSpec& s = m.spec;
  s.run_uuid = hash128_hex(id.dump());
  s.campaign = options.campaign;
  s.program = program;
  s.family = options.family;
  s.task = options.task;
  s.faults_json = faults.dump();
  s.fault_ids = fault_ids;
  s.seed = options.seed;
  s.recipe_json = recipe.dump();
  m.result.start_time = unix_ms();
  m.mark = Clock::now();
}

TraceRecorder::~TraceRecorder() = default;
TraceRecorder::TraceRecorder(TraceRecorder&&) noexcept = default;
TraceRecorder& TraceRecorder::operator=(TraceRecorder&&) noexcept = default;

void TraceRecorder::watch(torch::nn::Module& model, torch::optim::Optimizer* optimizer) {
  Impl& m = *impl_;
  m.check_open("watch");
  DYNFAULT_CHECK(m.step == 0 && m.last_epoch < 0,
                 "TraceRecorder::watch(): call it before the first on_step/on_epoch");
  m.params.clear();
  for (const auto& kv : model.named_parameters()) m.params.push_back({kv.key(), kv.value()});
  m.optimizer = optimizer;
  m.watched = true;
  m.before.clear();
  m.after.clear();
  if (!m.po.weights.is_off()) m.after = probes::snapshot(m.params);
}

void TraceRecorder::on_step(const torch::Tensor& loss) { on_step(loss.item<double>()); }

void TraceRecorder::on_step(double loss) {
  Impl& m = *impl_;
  m.check_open("on_step");
  const Clock::time_point start = Clock::now();
  const double step_ms = ms_between(m.mark, start);
  const int64_t ts = unix_ms();
  const int64_t step = m.step;
  const int64_t epoch = m.last_epoch + 1;  // the epoch this step belongs to
  m.rec.add("train/loss", step, loss, ts);

  const std::string terminal = m.losses.terminal(loss);
  if (!terminal.empty() && m.detected == "completed") m.detected = terminal;

  if (m.po.timing.at_step(step)) m.rec.add("time/step_ms", step, step_ms, ts);
  m.step_ms_sum += step_ms;
  ++m.steps_in_epoch;

  if (m.watched) {
    const ProbeOptions& po = m.po;
    // The step whose loss ended training: its gradients, as the trainer records them.
    if (po.gradients.at_step(step) || (!terminal.empty() && !po.gradients.is_off()))
      m.gradients(po.gradients.counts_steps() ? step : epoch);
    if (!po.weights.is_off()) m.rotate_snapshots();
    if (po.weights.at_step(step)) m.weights(step, true);
    if (po.optimizer.at_step(step)) m.optimizer_state(step);
  }
  ++m.step;
  m.mark = Clock::now();
}

void TraceRecorder::on_epoch(int64_t epoch, double train_loss, double train_metric,
                             std::optional<double> val_loss, std::optional<double> val_metric) {
  Impl& m = *impl_;
  m.check_open("on_epoch");
  DYNFAULT_CHECK(epoch > m.last_epoch, "TraceRecorder::on_epoch(): epochs must increase, got ",
                 epoch, " after ", m.last_epoch);
  const int64_t ts = unix_ms();
  m.rec.add("epoch/train_loss", epoch, train_loss, ts);
  m.rec.add("epoch/train_metric", epoch, train_metric, ts);
  if (val_loss) m.rec.add("epoch/val_loss", epoch, *val_loss, ts);
  if (val_metric) m.rec.add("epoch/val_metric", epoch, *val_metric, ts);
  if (m.optimizer != nullptr && !m.optimizer->param_groups().empty())
    m.rec.add("epoch/lr", epoch, m.optimizer->param_groups()[0].options().get_lr(), ts);

  const ProbeOptions& po = m.po;
  const bool last = m.opt.epochs > 0 && epoch + 1 >= m.opt.epochs;
  if (m.watched) {
    if (po.gradients.at_epoch(epoch, last)) {
      m.gradients(epoch);
      m.grad_epoch = epoch;
    }
    if (po.weights.at_epoch(epoch, last)) {
      m.weights(epoch, m.steps_in_epoch > 0);
      m.weight_epoch = epoch;
    }
    if (po.optimizer.at_epoch(epoch, last)) {
      m.optimizer_state(epoch);
      m.opt_epoch = epoch;
    }
  }
  m.last_epoch_step_ms = m.steps_in_epoch > 0
                             ? m.step_ms_sum / static_cast<double>(m.steps_in_epoch)
                             : std::numeric_limits<double>::quiet_NaN();
  if (po.timing.at_epoch(epoch, last) && m.steps_in_epoch > 0) {
    m.rec.add("time/step_ms", epoch, m.last_epoch_step_ms, unix_ms());
    m.time_epoch = epoch;
  }
  m.step_ms_sum = 0;
  m.steps_in_epoch = 0;
  m.last_epoch = epoch;
  m.mark = Clock::now();
}

void TraceRecorder::on_test(double test_loss, double test_metric) {
  Impl& m = *impl_;
  m.check_open("on_test");
  const int64_t at = std::max<int64_t>(m.last_epoch, 0);
  const int64_t ts = unix_ms();
  m.rec.add("final/test_loss", at, test_loss, ts);
  m.rec.add("final/test_metric", at, test_metric, ts);
}

bool TraceRecorder::should_stop() const { return impl_->detected != "completed"; }
std::string TraceRecorder::detected_outcome() const { return impl_->detected; }
const std::string& TraceRecorder::run_uuid() const { return impl_->spec.run_uuid; }
int64_t TraceRecorder::steps() const { return impl_->step; }

std::string TraceRecorder::finish(const std::string& outcome, const std::string& error) {
  Impl& m = *impl_;
  m.check_open("finish");
  const std::string o = outcome.empty() ? m.detected : outcome;
  DYNFAULT_CHECK(runner::is_outcome(o),
                 "TraceRecorder::finish(): outcome must be completed, nan_loss, diverged, "
                 "exception or timeout, got '",
                 o, "'");
  return m.write("FINISHED", o, error);
}

std::string TraceRecorder::fail(const std::string& error) {
  Impl& m = *impl_;
  m.check_open("fail");
  return m.write("FAILED", "exception", error);
}

}  // namespace dynfault
