// Reading logs of other tools into a trace (features/trace_csv.h lists the formats).
//
// Sources of the formats, as their documentation describes them:
//   * Keras `tf.keras.callbacks.CSVLogger`: a header `epoch` then the `logs` keys in sorted
//     order (loss, the compiled metrics, their `val_` twins, `lr` or `learning_rate` when a
//     schedule callback logs it), one row per epoch, epoch 0-based;
//   * PyTorch Lightning `CSVLogger` (`metrics.csv`): the union of every logged name as columns
//     plus `epoch` and `step`, one row per logging call with the other cells empty; a name
//     logged with on_step and on_epoch becomes `<name>_step` and `<name>_epoch`;
//     `LearningRateMonitor` logs `lr-<Optimizer>`;
//   * TensorBoard scalars as a table: `run, tag, step, value` (and `wall_time`), the long form
//     of `tensorboard.data.experimental.ExperimentFromDev.get_scalars()`; Keras' TensorBoard
//     callback writes runs `train` and `validation` with tags `epoch_loss`, `epoch_<metric>`,
//     `epoch_learning_rate`.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <set>

#include "common/check.h"
#include "common/registry.h"
#include "features/csv_table.h"
#include "features/trace_csv.h"
#include "features/trace_log_detail.h"
#include "features/trace_util.h"

namespace dynfault::features::detail {
namespace {

std::vector<std::string> tokens_of(const std::string& name) {
  std::vector<std::string> out;
  std::string cur;
  for (char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c)) {
      cur += static_cast<char>(std::tolower(c));
    } else if (!cur.empty()) {
      out.push_back(cur);
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool in(const std::string& t, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (t == w) return true;
  return false;
}

}  // namespace

Recognised recognise_name(const std::string& name, const std::string& run) {
  Recognised r;
  std::vector<std::string> t = tokens_of(name);
  const std::vector<std::string> run_tokens = tokens_of(run);
  if (t.empty()) return r;
  // Learning rate: lr, learning_rate, epoch_learning_rate, lr-Adam (LearningRateMonitor).
  const std::string lower = [&] {
    std::string s = name;
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  }();
  if (lower == "lr" || lower.rfind("lr-", 0) == 0 || lower == "learning_rate" ||
      lower == "epoch_learning_rate" || lower == "epoch_lr" || lower == "learning-rate") {
    r.key = keys::kLr;
    return r;
  }
  // Step-level: Lightning's `<name>_step`, Keras TensorBoard's batch_* and *_vs_iterations.
  if (t.back() == "step" || t.front() == "batch" ||
      std::find(t.begin(), t.end(), "iterations") != t.end()) {
    r.step_level = true;
    return r;
  }
  bool val = false, train = false, loss = false, metric = false, other = false;
  for (const auto& w : run_tokens) {
    val = val || in(w, {"val", "valid", "validation", "test", "eval", "evaluation"});
    train = train || in(w, {"train", "training"});
  }
  for (const auto& w : t) {
    if (in(w, {"val", "valid", "validation", "test", "eval", "evaluation"})) {
      val = true;
    } else if (in(w, {"train", "training"})) {
      train = true;
    } else if (w == "loss") {
      loss = true;
    } else if (in(w, {"acc", "accuracy", "r2", "r2score"})) {
      metric = true;
    } else if (!in(w, {"epoch", "sparse", "categorical", "binary", "score", "mean", "avg"})) {
      other = true;
    }
  }
  if (other || loss == metric) return r;
  (void)train;
  r.key = loss ? (val ? keys::kValLoss : keys::kTrainLoss)
               : (val ? keys::kValMetric : keys::kTrainMetric);
  return r;
}

std::string detect_format(const CsvTable& table, bool has_index_column) {
  std::set<std::string> lower;
  for (size_t c = has_index_column ? 1 : 0; c < table.header.size(); ++c) {
    std::string h = table.header[c];
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    lower.insert(h);
  }
  if (lower.count("tag") && lower.count("value") && lower.count("step")) return "tensorboard-csv";
  if (lower.count("epoch") && lower.count("step")) return "lightning";
  // Keras names the training loss `loss`; dynfault names it train_loss.
  if (lower.count("loss") && !lower.count("train_loss")) return "keras";
  return "dynfault";
}

std::string short_name_key(const std::string& name) {
  static const std::map<std::string, std::string> kMap = {{"train_loss", keys::kTrainLoss},
                                                          {"train_metric", keys::kTrainMetric},
                                                          {"val_loss", keys::kValLoss},
                                                          {"val_metric", keys::kValMetric},
                                                          {"lr", keys::kLr}};
  const auto it = kMap.find(name);
  return it == kMap.end() ? "" : it->second;
}

std::string explicit_target(const TraceLogOptions& options, const std::string& column) {
  for (const auto& [target, col] : options.columns) {
    if (col != column) continue;
    if (target == "epoch") return "epoch";
    const std::string key = short_name_key(target);
    if (!key.empty()) return key;
    if (!db::key_pattern_of(target).empty()) return target;
    std::string hint = db::closest_metric_key(target);
    if (hint.empty())
      hint = closest_match(target,
                           {"epoch", "train_loss", "train_metric", "val_loss", "val_metric", "lr"});
    throw ConfigError("--column " + shown(target) + "=" + shown(col) +
                      ": the target must be epoch, train_loss, train_metric, val_loss, "
                      "val_metric, lr or a metric key of db/trace.h" +
                      (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
  }
  return "";
}

void read_tensorboard_long(const CsvTable& table, const std::string& name,
                           const TraceLogOptions& options, TraceLog& out) {
  int tag_col = -1, step_col = -1, value_col = -1, run_col = -1;
  for (size_t c = 0; c < table.header.size(); ++c) {
    std::string h = table.header[c];
    std::transform(h.begin(), h.end(), h.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    const int ci = static_cast<int>(c);
    if (h == "tag") tag_col = ci;
    if (h == "step") step_col = ci;
    if (h == "value") value_col = ci;
    if (h == "run") run_col = ci;
  }
  if (tag_col < 0 || step_col < 0 || value_col < 0)
    throw ConfigError(name, table.header_line, "", "",
                      "a tensorboard-csv table needs the columns tag, step and value (and "
                      "optionally run, wall_time)");
  std::map<std::string, std::vector<std::pair<int64_t, double>>> points;
  std::map<std::string, std::string> key_source;  // key -> run/tag that gave it
  std::set<std::string> left_out;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const int line = table.row_lines[r];
    const std::string tag = row[static_cast<size_t>(tag_col)];
    const std::string run = run_col >= 0 ? row[static_cast<size_t>(run_col)] : "";
    const std::string full = run.empty() ? tag : run + "/" + tag;
    const auto ignored = [&](const std::string& s) {
      return std::find(options.ignore_columns.begin(), options.ignore_columns.end(), s) !=
             options.ignore_columns.end();
    };
    if (ignored(tag) || ignored(full)) {
      left_out.insert(full + " (--ignore-columns)");
      continue;
    }
    std::string key = explicit_target(options, full);
    if (key.empty()) key = explicit_target(options, tag);
    if (key == "epoch")
      throw ConfigError(name, line, "tag", shown(tag), "a tag cannot be the epoch: the step is");
    if (key.empty() && !db::key_pattern_of(tag).empty()) key = tag;
    if (key.empty()) {
      const Recognised rec = recognise_name(tag, run);
      if (rec.step_level) {
        left_out.insert(full + " (step-level)");
        continue;
      }
      key = rec.key;
    }
    if (key.empty())
      throw ConfigError(name, line, "tag", shown(full),
                        "unknown tag: not a loss, accuracy or learning rate, "
                        "nor a metric key "
                        "of db/trace.h; map it with --column TARGET=" +
                            shown(full) + " or leave it out with --ignore-columns " + shown(full));
    if (key == keys::kStepLoss || key.rfind("time/", 0) == 0)
      throw ConfigError(name, line, "tag", shown(full),
                        "a step-level series cannot be read per epoch");
    const auto [src, fresh] = key_source.emplace(key, full);
    if (!fresh && src->second != full)
      throw ConfigError(name, line, "tag", shown(full),
                        "gives " + key + " like '" + shown(src->second) +
                            "'; leave one out with --ignore-columns");
    double step = 0, value = 0;
    if (!parse_number(row[static_cast<size_t>(step_col)], step) || !(step >= 0) ||
        step != std::floor(step) || step > 1e12)
      throw ConfigError(name, line, "column " + std::to_string(step_col + 1) + " (step)",
                        shown(row[static_cast<size_t>(step_col)]),
                        "step must be a non-negative integer");
    if (!parse_number(row[static_cast<size_t>(value_col)], value))
      throw ConfigError(name, line, "column " + std::to_string(value_col + 1) + " (value)",
                        shown(row[static_cast<size_t>(value_col)]), "not a number");
    points[key].emplace_back(static_cast<int64_t>(step), value);
  }
  for (auto& [key, p] : points) {
    std::stable_sort(p.begin(), p.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    db::Series& s = out.trace.series[key];
    for (size_t i = 0; i < p.size(); ++i) {
      if (i > 0 && p[i].first == p[i - 1].first)
        throw ConfigError(name, 0, "tag", shown(key_source[key]),
                          "step " + std::to_string(p[i].first) + " is given twice");
      s.steps.push_back(p[i].first);
      s.values.push_back(p[i].second);
    }
    out.mapped.emplace_back(key_source[key], key);
  }
  out.left_out.assign(left_out.begin(), left_out.end());
}

}  // namespace dynfault::features::detail
