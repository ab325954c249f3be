// The rows an evaluation stores: enough to redraw every table and figure of the report (the
// report reads nothing else) and to say how each number was made.
#include "diagnosis/evaluation_rows.h"

#include <nlohmann/json.hpp>

#include "diagnosis/evaluation.h"

namespace dynfault::diagnosis {
namespace {

using nlohmann::json;

json num_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

const RungInfo* info_of(const TaskReport& t, const std::string& rung) {
  for (const auto& r : t.rungs)
    if (r.name == rung) return &r;
  return nullptr;
}

void rung_rows(const std::string& id, const TaskReport& t, const EvaluationResult& r,
               const RungScores& s, const EvaluateOptions& o,
               std::vector<db::EvaluationRow>& rows) {
  const RungInfo* info = info_of(t, s.rung);
  const auto dropped = t.dropped.find(r.feature_set);
  json d = {
      {"split", info ? info->description : s.rung},
      {"folds", s.folds},
      {"groups", info ? info->groups : 0},
      {"unseen_class_traces", info ? info->unseen_class : 0},
      {"seed", o.seed()},
      {"classes", s.confusion.classes},
      {"confusion", s.confusion.counts},
      {"confusion_of", s.learner_seeds > 1 ? "summed over learner seeds" : "one fit per fold"},
      {"n_programs", t.n_programs},
      {"n_features", r.n_features},
      {"bootstrap", r.bootstrap},
      {"resample_by", o.resample_by()},
      {"confidence", o.confidence()},
      {"learner_seeds", s.learner_seeds},
      {"learner_seed_sd", num_or_null(s.learner_sd)},
      {"max_bins", o.max_bins()},
      {"class_weight", o.class_weight()},
      {"effective_only", o.effective_only()},
      {"n_ineffective", t.n_ineffective},
      {"campaign", o.campaign()},
      {"label_inputs", t.label_inputs},
      {"dropped_label_inputs", dropped == t.dropped.end() ? json::array() : json(dropped->second)},
      {"pooled", "out-of-fold predictions pooled over folds"}};
  if (r.diagnoser == kLabelRule)
    d["definition"] = "the task's label rule applied to each trace (configs of this evaluation)";
  else  // every declared option with the value this evaluation used
    d["diagnoser_options"] = json::parse(options_json(r.diagnoser, o.diagnoser_config()));
  rows.push_back(evaluation_row(id, t.task, s.rung, r.diagnoser, r.feature_set, "balanced_accuracy",
                                s.balanced_accuracy, s.n, d.dump()));
  rows.push_back(evaluation_row(id, t.task, s.rung, r.diagnoser, r.feature_set, "macro_f1",
                                s.macro_f1, s.n, ""));
  for (const auto& [cls, rec] : s.recall)
    rows.push_back(evaluation_row(id, t.task, s.rung, r.diagnoser, r.feature_set, "recall/" + cls,
                                  Interval{rec}, s.n, ""));
}

void loss_rows(const std::string& id, const TaskReport& t, const EvaluationResult& r,
               const EvaluateOptions& o, std::vector<db::EvaluationRow>& rows) {
  for (const auto& l : r.losses) {
    const json d = {{"from", l.from},
                    {"to", l.to},
                    {"consecutive", l.consecutive},
                    {"from_first", l.from_first},
                    {"definition", "score on 'from' - score on 'to', paired on the same resamples"},
                    {"share_positive", num_or_null(l.share_positive)},
                    {"margin", o.margin()},
                    {"verdict", loss_word(l.verdict)},
                    {"bootstrap", r.bootstrap},
                    {"resample_by", o.resample_by()}};
    const std::string protocol = loss_protocol(l.from, l.to);
    rows.push_back(evaluation_row(id, t.task, protocol, r.diagnoser, r.feature_set,
                                  "balanced_accuracy", l.balanced_accuracy, t.n_traces, d.dump()));
    rows.push_back(evaluation_row(id, t.task, protocol, r.diagnoser, r.feature_set, "macro_f1",
                                  l.macro_f1, t.n_traces, d.dump()));
  }
}

}  // namespace

db::EvaluationRow evaluation_row(const std::string& evaluation_id, const std::string& task,
                                 const std::string& protocol, const std::string& diagnoser,
                                 const std::string& feature_set, const std::string& metric,
                                 const Interval& v, int64_t n, const std::string& details) {
  db::EvaluationRow row;
  row.evaluation_id = evaluation_id;
  row.task = task;
  row.protocol = protocol;
  row.diagnoser = diagnoser;
  row.feature_set = feature_set;
  row.metric = metric;
  row.value = v.value;
  row.ci_low = v.low;
  row.ci_high = v.high;
  row.n = n;
  row.details = details;
  return row;
}

std::vector<db::EvaluationRow> task_rows(const std::string& id, const TaskReport& t,
                                         const EvaluateOptions& o) {
  std::vector<db::EvaluationRow> rows;
  for (const auto& r : t.results) {
    for (const auto& s : r.rungs) rung_rows(id, t, r, s, o, rows);
    loss_rows(id, t, r, o, rows);
  }
  for (const auto& c : t.paired)
    rows.push_back(evaluation_row(
        id, t.task, paired_protocol(c.rung), c.diagnoser, c.set_a + " vs " + c.set_b,
        "balanced_accuracy_diff", c.difference, t.n_traces,
        json{{"set_a", c.set_a},
             {"set_b", c.set_b},
             {"rung", c.rung},
             {"definition", "balanced accuracy of set_a - set_b on the rung"},
             {"share_positive", num_or_null(c.share_positive)},
             {"margin", o.margin()},
             {"verdict", comparison_word(c.verdict)},
             {"bootstrap", o.bootstrap()},
             {"resampling", o.resample_by() + "s with replacement, shared by both sets"}}
            .dump()));
  return rows;
}

}  // namespace dynfault::diagnosis
