#include "diagnosis/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "db/execution.h"
#include "db/store.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/report_html.h"
#include "features/trace_util.h"

namespace dynfault::diagnosis {

namespace html {

// Colour-blind-safe palette (Okabe & Ito), one colour per curve.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};

const char* colour(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::string esc(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string num(double v, int digits) {
  if (!std::isfinite(v)) return "&ndash;";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

std::string interval(double v, double lo, double hi) {
  std::string s = num(v);
  if (std::isfinite(lo) && std::isfinite(hi))
    s += " <span class=\"ci\">[" + num(lo) + ", " + num(hi) + "]</span>";
  return s;
}

std::string px(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

}  // namespace html

namespace {

using html::esc;
using html::num;
using html::px;
using nlohmann::json;

constexpr const char* kCss = R"(
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}
h3{font-size:1.05em}table{border-collapse:collapse;margin:.5em 0 1em}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:right;font-size:.9em}
th{background:#f4f4f4}td.l,th.l{text-align:left}.ci{color:#777;font-size:.85em}
.note{color:#555;font-size:.9em}svg{display:block;margin:.5em 0}
)";

void header(std::ostringstream& out, db::Store& store, const ReportOptions& o,
            const std::string& evaluation_id) {
  out << "<h1>" << esc(o.title()) << "</h1>\n<table class=\"info\">\n";
  auto row = [&](const std::string& k, const std::string& v) {
    out << "<tr><th class=\"l\">" << esc(k) << "</th><td class=\"l\">" << esc(v) << "</td></tr>\n";
  };
  row("database", store.path());
  for (const char* key : {"tool_version", "libtorch_version", "git_commit", "compiler"})
    row(key, store.info(key).value_or("(not recorded)"));
  std::string campaigns;
  for (const auto& c : store.campaigns()) campaigns += (campaigns.empty() ? "" : ", ") + c;
  row("campaigns", campaigns.empty() ? "(none)" : campaigns);
  if (!o.campaign().empty()) row("campaign shown", o.campaign());
  // Whether the traces can be regenerated bit for bit: the environment they computed in.
  for (const auto& e : db::execution_summaries(store, o.campaign())) {
    std::string runs = std::to_string(e.recorded) + " of " + std::to_string(e.finished) +
                       " finished runs recorded how they were executed";
    if (e.other_environment > 0)
      runs += "; " + std::to_string(e.other_environment) + " in another numeric environment";
    if (e.other_libraries > 0)
      runs += "; " + std::to_string(e.other_libraries) + " with other libraries";
    for (const auto& [cpu, n] : e.cpus) runs += "; " + std::to_string(n) + " on " + cpu;
    row("numeric environment of " + e.campaign,
        e.environment.empty() ? "not recorded (planned before dynfault recorded it)"
                              : e.environment + " (libraries: " + e.libraries + ")");
    row("execution of " + e.campaign, runs);
  }
  std::string counts;
  int64_t total = 0;
  for (const auto& [status, n] : store.status_counts(o.campaign())) {
    counts += (counts.empty() ? "" : ", ") + status + " " + std::to_string(n);
    total += n;
  }
  row("runs", std::to_string(total) + (counts.empty() ? "" : " (" + counts + ")"));
  row("feature sets stored", [&] {
    std::string s;
    for (const auto& f : store.feature_sets()) s += (s.empty() ? "" : ", ") + f;
    return s.empty() ? std::string("(none)") : s;
  }());
  row("evaluation", evaluation_id);
  out << "</table>\n";
}

// --- loss curves -------------------------------------------------------------------------------

constexpr int kGrid = 21;  // normalised time points 0, 0.05, ..., 1

// Epoch train loss / its first value, linearly interpolated on the grid; empty when unusable.
std::vector<double> normalised_curve(const db::Trace& trace) {
  const db::Series* s = trace.find(features::keys::kTrainLoss);
  if (!s || s->values.size() < 2) return {};
  const double first = s->values.front();
  if (!std::isfinite(first) || first == 0) return {};
  std::vector<double> grid(kGrid);
  const double n = static_cast<double>(s->values.size() - 1);
  for (int g = 0; g < kGrid; ++g) {
    const double pos = static_cast<double>(g) / (kGrid - 1) * n;
    const size_t i = std::min(static_cast<size_t>(pos), s->values.size() - 2);
    const double f = pos - static_cast<double>(i);
    const double v = (1 - f) * s->values[i] + f * s->values[i + 1];
    grid[static_cast<size_t>(g)] = v / std::fabs(first);
  }
  return grid;
}

void loss_curves(std::ostringstream& out, db::Store& store, const ReportOptions& o) {
  db::RunFilter filter;
  filter.campaign = o.campaign();
  filter.status = "FINISHED";
  std::set<std::string> finished;
  std::map<std::string, bool> clean;
  for (const auto& r : store.runs(filter)) {
    finished.insert(r.spec.run_uuid);
    clean[r.spec.run_uuid] = r.spec.faults_json.empty() || r.spec.faults_json == "[]";
  }
  std::map<std::string, std::vector<std::string>> members;  // class -> runs (sorted)
  for (const auto& l : store.labels(o.curve_task()))
    if (finished.count(l.run_uuid) && !l.label.empty()) members[l.label].push_back(l.run_uuid);
  for (const auto& [run, is_clean] : clean)
    if (is_clean) members["clean"].push_back(run);
  out << "<h2>Loss curves per fault class</h2>\n";
  if (members.empty()) {
    out << "<p class=\"note\">No labelled finished traces for task " << esc(o.curve_task())
        << ".</p>\n";
    return;
  }
  struct Band {
    std::string cls;
    int64_t runs = 0;
    std::vector<double> q25, q50, q75;
  };
  std::vector<Band> bands;
  for (auto& [cls, runs] : members) {
    std::sort(runs.begin(), runs.end());
    if (static_cast<int64_t>(runs.size()) > o.curve_runs_per_class())
      runs.resize(static_cast<size_t>(o.curve_runs_per_class()));
    std::vector<std::vector<double>> at(kGrid);
    Band b;
    b.cls = cls;
    for (const auto& run : runs) {
      const auto curve = normalised_curve(store.trace(run));
      if (curve.empty()) continue;
      ++b.runs;
      for (int g = 0; g < kGrid; ++g)
        if (std::isfinite(curve[static_cast<size_t>(g)]))
          at[static_cast<size_t>(g)].push_back(curve[static_cast<size_t>(g)]);
    }
    if (b.runs == 0) continue;
    for (int g = 0; g < kGrid; ++g) {
      b.q25.push_back(percentile(at[static_cast<size_t>(g)], 0.25));
      b.q50.push_back(percentile(at[static_cast<size_t>(g)], 0.5));
      b.q75.push_back(percentile(at[static_cast<size_t>(g)], 0.75));
    }
    bands.push_back(std::move(b));
  }
  double hi = 1.0;
  for (const auto& b : bands)
    for (double v : b.q75)
      if (std::isfinite(v)) hi = std::max(hi, v);
  hi = std::min(hi, 5.0);  // a diverged band would flatten every other curve
  const double w = 640, h = 300, left = 50, bottom = 30, top = 10, right = 150;
  auto sx = [&](int g) { return left + static_cast<double>(g) / (kGrid - 1) * (w - left - right); };
  auto sy = [&](double v) { return top + (1 - std::clamp(v, 0.0, hi) / hi) * (h - top - bottom); };
  out << "<p class=\"note\">Epoch train loss divided by its first epoch, over normalised "
         "training time; line = median, band = inter-quartile range over runs (at most "
      << o.curve_runs_per_class()
      << " runs per class; runs whose loss became NaN drop out "
         "where it did). Classes from task "
      << esc(o.curve_task()) << "; clean = runs without an injected fault.</p>\n";
  out << "<svg class=\"curves\" width=\"" << px(w) << "\" height=\"" << px(h)
      << "\" role=\"img\">\n<title>normalised loss curves</title>\n"
      << "<line x1=\"" << px(left) << "\" y1=\"" << px(h - bottom) << "\" x2=\"" << px(w - right)
      << "\" y2=\"" << px(h - bottom) << "\" stroke=\"#333\"/>\n"
      << "<line x1=\"" << px(left) << "\" y1=\"" << px(top) << "\" x2=\"" << px(left) << "\" y2=\""
      << px(h - bottom) << "\" stroke=\"#333\"/>\n";
  for (double v : {0.0, 1.0, hi})
    out << "<text x=\"" << px(left - 4) << "\" y=\"" << px(sy(v) + 4)
        << "\" font-size=\"11\" text-anchor=\"end\">" << num(v, 1) << "</text>\n";
  out << "<text x=\"" << px((left + w - right) / 2) << "\" y=\"" << px(h - 8)
      << "\" font-size=\"11\" text-anchor=\"middle\">training progress (0 = first epoch, 1 = last)"
         "</text>\n";
  for (size_t c = 0; c < bands.size(); ++c) {
    const Band& b = bands[c];
    const char* colour = html::colour(c);
    std::string band, line;
    for (int g = 0; g < kGrid; ++g)
      if (std::isfinite(b.q75[static_cast<size_t>(g)]))
        band += px(sx(g)) + "," + px(sy(b.q75[static_cast<size_t>(g)])) + " ";
    for (int g = kGrid - 1; g >= 0; --g)
      if (std::isfinite(b.q25[static_cast<size_t>(g)]))
        band += px(sx(g)) + "," + px(sy(b.q25[static_cast<size_t>(g)])) + " ";
    for (int g = 0; g < kGrid; ++g)
      if (std::isfinite(b.q50[static_cast<size_t>(g)]))
        line += px(sx(g)) + "," + px(sy(b.q50[static_cast<size_t>(g)])) + " ";
    out << "<polygon points=\"" << band << "\" fill=\"" << colour << "\" fill-opacity=\"0.15\"/>\n"
        << "<polyline points=\"" << line << "\" fill=\"none\" stroke=\"" << colour
        << "\" stroke-width=\"2\"/>\n"
        << "<text x=\"" << px(w - right + 10) << "\" y=\"" << px(top + 14 + 16 * c)
        << "\" font-size=\"12\" fill=\"" << colour << "\">" << esc(b.cls) << " (" << b.runs
        << ")</text>\n";
  }
  out << "</svg>\n";
}

// --- program structure -------------------------------------------------------------------------

void program_structure(std::ostringstream& out, const std::vector<db::EvaluationRow>& rows) {
  std::map<std::string, std::pair<const db::EvaluationRow*, const db::EvaluationRow*>> identity;
  std::vector<std::string> order;
  std::map<std::string, const db::EvaluationRow*> eta;
  for (const auto& r : rows) {
    if (r.task == kTaskProgramIdentity) {
      if (!identity.count(r.feature_set)) order.push_back(r.feature_set);
      auto& slot = identity[r.feature_set];
      (r.metric == "balanced_accuracy" ? slot.first : slot.second) = &r;
    } else if (r.task == kTaskProgramVariance && r.metric == "eta2_mean") {
      eta[r.feature_set] = &r;
    }
  }
  out << "<h2>Program identity and program share of feature variance</h2>\n";
  if (order.empty()) {
    out << "<p class=\"note\">Not computed in this evaluation.</p>\n";
    return;
  }
  const auto* any = identity[order.front()].first;
  const json d = any ? json::parse(any->details, nullptr, false) : json();
  if (d.is_object() && d.contains("chance"))
    out << "<p class=\"note\">How well each feature set tells which program a trace comes from ("
        << esc(any->diagnoser)
        << ", stratified by program; chance = " << num(d["chance"].get<double>()) << " for "
        << d.value("n_programs", 0)
        << " programs), and the mean one-way ANOVA &eta;&sup2; of its features by program.</p>\n";
  out << "<table class=\"identity\">\n<tr><th class=\"l\">feature set</th><th>balanced accuracy"
         "</th><th>accuracy</th><th>mean &eta;&sup2;</th><th class=\"l\">most program-dependent "
         "features</th></tr>\n";
  for (const auto& set : order) {
    const auto& [ba, acc] = identity[set];
    std::string top;
    double mean = NAN;
    if (auto it = eta.find(set); it != eta.end()) {
      mean = it->second->value;
      const json e = json::parse(it->second->details, nullptr, false);
      if (e.is_object() && e.contains("top"))
        for (const auto& f : e["top"])
          top += (top.empty() ? "" : ", ") + esc(f.value("feature", "")) + " " +
                 num(f["eta2"].is_number() ? f["eta2"].get<double>() : NAN, 2);
    }
    out << "<tr><td class=\"l\">" << esc(set) << "</td><td>" << num(ba ? ba->value : NAN)
        << "</td><td>" << num(acc ? acc->value : NAN) << "</td><td>" << num(mean)
        << "</td><td class=\"l\">" << top << "</td></tr>\n";
  }
  out << "</table>\n";
}

}  // namespace

std::string render_report_html(db::Store& store, const ReportOptions& o) {
  store.require_campaign(o.campaign());
  const std::vector<db::EvaluationRow> rows = store.evaluation(o.evaluation_id());
  DYNFAULT_CHECK(!rows.empty(), "render_report_html(): no evaluation ",
                 o.evaluation_id().empty() ? std::string("stored (run the evaluation first)")
                                           : "'" + o.evaluation_id() + "'");
  const std::string evaluation_id = rows.front().evaluation_id;
  std::ostringstream out;
  out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>"
      << esc(o.title()) << "</title>\n<style>" << kCss << "</style>\n</head>\n<body>\n";
  header(out, store, o, evaluation_id);
  out << "<p class=\"note\">Balanced accuracy on pooled out-of-fold predictions, on each rung "
         "of the protocol ladder: random = stratified k-fold over traces (everything seen); "
         "config, fault, program, dataset = a fault configuration, an operator, a program or a "
         "data set never seen in training. A loss is the lower rung's score minus the higher "
         "rung's, paired on the same resamples; verdicts compare its interval with the "
         "equivalence margin fixed before the evaluation. Intervals: percentile intervals of a "
         "bootstrap that resamples programs (or data sets). label_rule = the task's rule applied "
         "to each trace, the ceiling.</p>\n";
  html::horizon_sections(out, rows);
  if (!o.horizon_evaluation_id().empty() && o.horizon_evaluation_id() != evaluation_id)
    html::horizon_sections(out, store.evaluation(o.horizon_evaluation_id()));
  html::task_sections(out, rows);
  loss_curves(out, store, o);
  program_structure(out, rows);
  out << "</body>\n</html>\n";
  return out.str();
}

}  // namespace dynfault::diagnosis
