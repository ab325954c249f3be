// The `config` set: the training run's configured hyperparameters, read from the recipe the run
// trained (after mutation) and from the learning rate the trainer applied each epoch.
//
// These are configuration, not runtime signals: a hyperparameter mutation shows up here as its
// own injected value (prior-work section 7, defect #4: DEFault's `adjusted_lr` encoded the seeded
// LR). They were part of `optimizer` until 2026-12-05; DESIGN.md keeps configured values in their
// own set so that "optimizer state helps" is never a reading of the injected learning rate.
// Columns (NaN when the recipe or the series is missing):
//   cfg_lr_log10                  log10 of the configured learning rate (recipe optimizer.lr)
//   cfg_lr_log10_first, _final    log10 of the LR in effect at the first / last epoch (epoch/lr)
//   cfg_lr_log10_change           final - first (the schedule's total decay)
//   cfg_lr_change_share           share of epoch transitions where the LR changed
//   cfg_momentum, cfg_nesterov    SGD momentum and Nesterov flag
//   cfg_beta1, cfg_beta2          Adam-family moment decay rates
//   cfg_eps_log10                 log10 of the optimizer's eps
//   cfg_weight_decay, cfg_rho     decoupled/L2 weight decay; RMSprop alpha / Adadelta rho
//   cfg_optimizer_{sgd,adam,adamw,adagrad,rmsprop,other}   one-hot optimizer
//   cfg_schedule_gamma, cfg_schedule_step_size   LR schedule (gamma 1 = none)
//   cfg_batch_size_log2, cfg_epochs   batch size and planned epochs
//   cfg_l1, cfg_l2, cfg_clip_norm, cfg_clip_value   regularisation and gradient clipping (0 = off)
// The injected fault list (`faults` in the recipe) is never read: it is the fault-type label.
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "features/probe_sets.h"
#include "features/stats.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The number at `key` of `obj`, NaN when absent or not a number (bools count as 0/1).
double number(const json& obj, const char* key) {
  if (!obj.is_object()) return kNaN;
  const auto it = obj.find(key);
  if (it == obj.end()) return kNaN;
  if (it->is_boolean()) return it->get<bool>() ? 1.0 : 0.0;
  return it->is_number() ? it->get<double>() : kNaN;
}

void learning_rate_in_effect(const db::Trace& trace, FeatureRow& row) {
  const auto& raw = series_values(trace, keys::kLr);
  std::vector<double> logs;
  for (double x : raw) logs.push_back(safe_log10(x));
  double first = kNaN;
  for (double x : logs)
    if (std::isfinite(x)) {
      first = x;
      break;
    }
  const double final_lr = finite_last(logs);
  row.add("cfg_lr_log10_first", first);
  row.add("cfg_lr_log10_final", final_lr);
  row.add("cfg_lr_log10_change", final_lr - first);
  double changes = kNaN;
  if (raw.size() >= 2) {
    size_t n = 0;
    for (size_t i = 1; i < raw.size(); ++i) n += raw[i] != raw[i - 1] ? 1 : 0;
    changes = static_cast<double>(n) / static_cast<double>(raw.size() - 1);
  }
  row.add("cfg_lr_change_share", changes);
}

}  // namespace

void config_features(const db::Trace& trace, FeatureRow& row) {
  const json recipe = json::parse(trace.recipe_json.empty() ? "null" : trace.recipe_json, nullptr,
                                  /*allow_exceptions=*/false);
  const json none;
  const json& opt = recipe.is_object() && recipe.contains("optimizer") ? recipe["optimizer"] : none;
  const json& sched = recipe.is_object() && recipe.contains("schedule") ? recipe["schedule"] : none;
  // Recipe columns read run facts only (no series); a trace without a recipe makes them NaN.
  row.add("cfg_lr_log10", safe_log10(number(opt, "lr")));
  row.reads_from({keys::kLr});
  learning_rate_in_effect(trace, row);
  row.reads_from(ColumnInputs{});
  row.add("cfg_momentum", number(opt, "momentum"));
  row.add("cfg_nesterov", number(opt, "nesterov"));
  row.add("cfg_beta1", number(opt, "beta1"));
  row.add("cfg_beta2", number(opt, "beta2"));
  row.add("cfg_eps_log10", safe_log10(number(opt, "eps")));
  row.add("cfg_weight_decay", number(opt, "weight_decay"));
  row.add("cfg_rho", number(opt, "rho"));
  const std::string name = opt.is_object() && opt.contains("name") && opt["name"].is_string()
                               ? opt["name"].get<std::string>()
                               : "";
  bool known = false;
  for (const char* o : {"sgd", "adam", "adamw", "adagrad", "rmsprop"}) {
    known = known || name == o;
    row.add(std::string("cfg_optimizer_") + o, name.empty() ? kNaN : (name == o ? 1.0 : 0.0));
  }
  row.add("cfg_optimizer_other", name.empty() ? kNaN : (known ? 0.0 : 1.0));
  const bool scheduled = sched.is_object() && sched.value("name", "none") != "none";
  row.add("cfg_schedule_gamma",
          sched.is_object() ? (scheduled ? number(sched, "gamma") : 1.0) : kNaN);
  row.add("cfg_schedule_step_size",
          sched.is_object() ? (scheduled ? number(sched, "step_size") : 0.0) : kNaN);
  const double batch = number(recipe, "batch_size");
  row.add("cfg_batch_size_log2", batch > 0 ? std::log2(batch) : kNaN);
  row.add("cfg_epochs", number(recipe, "epochs"));
  for (const char* k : {"l1", "l2", "clip_norm", "clip_value"})
    row.add(std::string("cfg_") + k, number(recipe, k));
}

FeatureSet make_config_feature_set() {
  return make_row_feature_set(
      "config",
      "Configured hyperparameters: learning rate (configured and in effect), "
      "optimizer and its constants, schedule, batch size, epochs, "
      "regularisation",
      &config_features);
}

DYNFAULT_REGISTER(feature_set_registry(), "config", make_config_feature_set);

}  // namespace dynfault::features
