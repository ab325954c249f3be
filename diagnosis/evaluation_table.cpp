// The plain-text tables of an evaluation (what `dynfault evaluate` and `dynfault demo` print).
#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "diagnosis/evaluation.h"

namespace dynfault::diagnosis {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr size_t kDiagnoserWidth = 21, kSetWidth = 18, kIntervalWidth = 23;

std::string fmt(double v) {
  if (std::isnan(v)) return "  -  ";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", v);
  return buf;
}

std::string fmt_interval(const Interval& v) {
  std::string s = fmt(v.value);
  if (!std::isnan(v.low) && !std::isnan(v.high)) s += " [" + fmt(v.low) + ", " + fmt(v.high) + "]";
  return s;
}

std::string pad(const std::string& s, size_t w) {
  return s.size() >= w ? s + " " : s + std::string(w - s.size(), ' ');
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string cell_name(const EvaluationResult& r) {
  return pad(r.diagnoser, kDiagnoserWidth) + pad(r.feature_set, kSetWidth);
}

void header(std::ostringstream& out, const TaskReport& tr, const EvaluateOptions& o) {
  out << ": " << tr.classes.size() << " classes, " << tr.n_traces << " traces, " << tr.n_programs
      << " programs ==\n";
  if (tr.n_not_applicable > 0 || tr.n_missing_features > 0)
    out << "excluded: " << tr.n_not_applicable << " traces labelled not applicable, "
        << tr.n_missing_features << " without features\n";
  out << "classes:";
  for (const auto& [cls, n] : tr.class_counts) out << ' ' << cls << " (" << n << ')';
  out << "\nrungs:\n";
  for (const auto& r : tr.rungs) {
    const Rung& def = rung(r.name);
    out << "  " << pad(r.name, 9) << r.description;
    if (!def.grouping.empty()) out << "; " << r.groups << ' ' << def.unit;
    if (r.unseen_class > 0)
      out << "; " << r.unseen_class << " test traces of a class absent from their training fold";
    out << '\n';
  }
  out << "the label rule reads: "
      << (tr.label_inputs.empty() ? "(not declared)" : join(tr.label_inputs, ", ")) << '\n';
  if (o.keep_label_inputs()) {
    out << "label inputs kept in the feature sets (--keep-label-inputs)\n";
  } else if (tr.dropped.empty()) {
    out << "label inputs dropped: none\n";
  } else {
    out << "label inputs dropped (columns that restate the rule):\n";
    for (const auto& [set, cols] : tr.dropped)
      out << "  " << set << " (" << cols.size() << "): " << join(cols, ", ") << '\n';
  }
  const int pct = static_cast<int>(std::lround(o.confidence() * 100));
  if (o.bootstrap() > 0)
    out << "[" << pct << "% percentile intervals, " << o.bootstrap() << " bootstrap resamples of "
        << o.resample_by() << "s; ";
  else
    out << "[no intervals; ";
  out << o.learner_seeds() << " learner seed" << (o.learner_seeds() == 1 ? "" : "s") << "; "
      << o.max_bins() << " bins; margin " << fmt(o.margin())
      << (o.class_weight() == "none" ? "" : "; class weight " + o.class_weight()) << "]\n";
  if (tr.n_ineffective > 0)
    out << "left out (--effective-only): " << tr.n_ineffective
        << " faulty traces the killing test did not find effective\n";
}

// One row per result, one column per rung: `metric` picks the interval.
void rung_table(std::ostringstream& out, const TaskReport& tr, const char* title,
                Interval RungScores::*metric) {
  out << '\n'
      << title << '\n'
      << pad("diagnoser", kDiagnoserWidth) << pad("feature set", kSetWidth);
  for (const auto& r : tr.rungs) out << pad(r.name, kIntervalWidth);
  out << "features\n";
  for (const auto& res : tr.results) {
    out << cell_name(res);
    for (const auto& s : res.rungs) out << pad(fmt_interval(s.*metric), kIntervalWidth);
    out << res.n_features << '\n';
  }
}

void loss_table(std::ostringstream& out, const TaskReport& tr) {
  if (tr.rungs.size() < 2) return;
  out << "\nloss of balanced accuracy between rungs (lower rung - higher rung, paired on the same "
         "resamples; verdict against the margin)\n"
      << pad("diagnoser", kDiagnoserWidth) << pad("feature set", kSetWidth) << pad("rungs", 20)
      << pad("loss", 24) << pad("verdict", 14) << "share > 0\n";
  for (const auto& res : tr.results)
    for (const auto& l : res.losses) {
      if (res.diagnoser == kLabelRule) break;  // the rule never changes with the rung
      out << cell_name(res) << pad(l.from + " -> " + l.to, 20)
          << pad(fmt_interval(l.balanced_accuracy), 24) << pad(loss_word(l.verdict), 14)
          << fmt(l.share_positive) << '\n';
    }
}

void recall_table(std::ostringstream& out, const TaskReport& tr) {
  out << "\nrecall per class\n"
      << pad("diagnoser", kDiagnoserWidth) << pad("feature set", kSetWidth) << pad("rung", 9);
  for (const auto& c : tr.classes) out << pad(c, std::max<size_t>(8, c.size() + 1));
  out << '\n';
  for (const auto& res : tr.results)
    for (const auto& s : res.rungs) {
      out << cell_name(res) << pad(s.rung, 9);
      for (const auto& c : tr.classes) {
        const auto it = s.recall.find(c);
        out << pad(fmt(it == s.recall.end() ? kNaN : it->second),
                   std::max<size_t>(8, c.size() + 1));
      }
      out << '\n';
    }
}

void learner_sd_table(std::ostringstream& out, const TaskReport& tr, const EvaluateOptions& o) {
  if (o.learner_seeds() < 2) return;
  out << "\nSD of balanced accuracy over " << o.learner_seeds()
      << " learner seeds (- = the learner draws nothing)\n"
      << pad("diagnoser", kDiagnoserWidth) << pad("feature set", kSetWidth);
  for (const auto& r : tr.rungs) out << pad(r.name, 9);
  out << '\n';
  for (const auto& res : tr.results) {
    out << cell_name(res);
    for (const auto& s : res.rungs) out << pad(fmt(s.learner_sd), 9);
    out << '\n';
  }
}

void paired_table(std::ostringstream& out, const TaskReport& tr) {
  if (tr.paired.empty()) return;
  out << "\npaired: balanced accuracy of set a - set b, same diagnoser, rung and resamples\n"
      << pad("diagnoser", kDiagnoserWidth) << pad("a vs b", 36) << pad("rung", 9)
      << pad("difference", 24) << pad("verdict", 14) << "share > 0\n";
  for (const auto& c : tr.paired)
    out << pad(c.diagnoser, kDiagnoserWidth) << pad(c.set_a + " vs " + c.set_b, 36)
        << pad(c.rung, 9) << pad(fmt_interval(c.difference), 24)
        << pad(comparison_word(c.verdict), 14) << fmt(c.share_positive) << '\n';
}

void structure_table(std::ostringstream& out, const EvaluationReport& report) {
  const auto& o = report.options;
  out << "\n== program identity and program share of feature variance ==\n";
  if (!report.identity_message.empty()) {
    out << "skipped: " << report.identity_message << '\n';
    return;
  }
  if (!report.identity.empty())
    out << "which program a trace comes from, " << report.identity.front().diagnoser
        << ", stratified " << o.within_folds() << "-fold by program over " << report.identity_traces
        << " traces; chance = 1/" << report.identity.front().n_programs << " = "
        << fmt(report.identity.front().chance) << "\n";
  out << pad("feature set", kSetWidth) << pad("balanced acc", 14) << pad("accuracy", 10)
      << pad("mean eta^2", 12) << "most program-dependent features (eta^2)\n";
  for (size_t s = 0; s < report.identity.size(); ++s) {
    const auto& id = report.identity[s];
    const VarianceShare* v = s < report.variance.size() ? &report.variance[s] : nullptr;
    std::string top;
    if (v)
      for (const auto& [f, e] : v->top) top += (top.empty() ? "" : ", ") + f + " " + fmt(e);
    out << pad(id.feature_set, kSetWidth) << pad(fmt(id.balanced_accuracy), 14)
        << pad(fmt(id.accuracy), 10) << pad(v ? fmt(v->mean_eta2) : fmt(kNaN), 12) << top << '\n';
  }
}

}  // namespace

std::string format_table(const EvaluationReport& report) {
  std::ostringstream out;
  out << "evaluation " << report.evaluation_id << '\n';
  const auto& o = report.options;
  for (const auto& tr : report.tasks) {
    out << "\n== " << tr.task;
    header(out, tr, o);
    rung_table(out, tr, "balanced accuracy per rung", &RungScores::balanced_accuracy);
    loss_table(out, tr);
    rung_table(out, tr, "macro-F1 per rung", &RungScores::macro_f1);
    recall_table(out, tr);
    learner_sd_table(out, tr, o);
    paired_table(out, tr);
  }
  if (o.program_structure()) structure_table(out, report);
  return out.str();
}

}  // namespace dynfault::diagnosis
