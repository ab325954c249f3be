// The horizon section of the HTML report: for each task evaluated at two or more horizons,
// balanced accuracy against the fraction of training observed, one chart per diagnoser, one
// colour per feature set, the program rung solid and the random rung dashed, interval bands.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "diagnosis/evaluation.h"
#include "diagnosis/report_html.h"

namespace dynfault::diagnosis::html {
namespace {

// A point of one line: the horizon and the balanced-accuracy row there.
using Line = std::map<double, const db::EvaluationRow*>;

struct TaskHorizons {
  std::set<double> horizons;
  // diagnoser -> (feature set, rung) -> line
  std::map<std::string, std::map<std::pair<std::string, std::string>, Line>> lines;
  std::vector<std::string> sets;        // in order of appearance
  std::vector<std::string> diagnosers;  // in order of appearance (the label rule last)
};

// The fraction a task name is at: 1 without a suffix, H for "@hH"; NaN for epoch or step
// horizons (not fractions of training, so not on this axis).
double fraction_of(const std::string& task, std::string& base) {
  const size_t at = task.find('@');
  base = task.substr(0, at);
  if (at == std::string::npos) return 1.0;
  const std::string suffix = task.substr(at + 1);
  if (suffix.size() < 2 || suffix[0] != 'h') return NAN;
  try {
    return std::stod(suffix.substr(1));
  } catch (const std::exception&) {
    return NAN;
  }
}

void horizon_chart(std::ostringstream& out, const TaskHorizons& t, const std::string& diagnoser,
                   const std::vector<std::string>& rungs) {
  const double w = 660, h = 260, left = 46, right = 210, top = 12, bottom = 34;
  auto sx = [&](double x) { return left + std::clamp(x, 0.0, 1.0) * (w - left - right); };
  auto sy = [&](double v) { return top + (1 - std::clamp(v, 0.0, 1.0)) * (h - top - bottom); };
  out << "<svg class=\"horizon\" width=\"" << px(w) << "\" height=\"" << px(h)
      << "\" role=\"img\">\n<title>balanced accuracy against the fraction of training observed, "
      << esc(diagnoser) << "</title>\n";
  for (double v : {0.0, 0.25, 0.5, 0.75, 1.0}) {
    out << "<line x1=\"" << px(left) << "\" y1=\"" << px(sy(v)) << "\" x2=\"" << px(w - right)
        << "\" y2=\"" << px(sy(v)) << "\" stroke=\"#ddd\"/>\n<text x=\"" << px(left - 4)
        << "\" y=\"" << px(sy(v) + 4) << "\" font-size=\"11\" text-anchor=\"end\">" << num(v, 2)
        << "</text>\n";
  }
  for (double x : t.horizons)
    out << "<text x=\"" << px(sx(x)) << "\" y=\"" << px(h - 14)
        << "\" font-size=\"11\" text-anchor=\"middle\">" << num(x, 2) << "</text>\n";
  out << "<text x=\"" << px((left + w - right) / 2) << "\" y=\"" << px(h - 2)
      << "\" font-size=\"11\" text-anchor=\"middle\">fraction of planned epochs observed</text>\n";
  const auto& by_line = t.lines.at(diagnoser);
  int legend = 0;
  for (size_t s = 0; s < t.sets.size(); ++s)
    for (const auto& rung : rungs) {
      const auto it = by_line.find({t.sets[s], rung});
      if (it == by_line.end()) continue;
      const bool dashed = rung != rungs.front();
      const char* col = diagnoser == kLabelRule ? "#777777" : colour(s);
      std::string band_top, band_bottom, line;
      for (const auto& [x, r] : it->second) {
        if (!std::isfinite(r->value)) continue;
        line += px(sx(x)) + "," + px(sy(r->value)) + " ";
        if (std::isfinite(r->ci_low) && std::isfinite(r->ci_high)) {
          band_top += px(sx(x)) + "," + px(sy(r->ci_high)) + " ";
          band_bottom = px(sx(x)) + "," + px(sy(r->ci_low)) + " " + band_bottom;
        }
        out << "<circle cx=\"" << px(sx(x)) << "\" cy=\"" << px(sy(r->value)) << "\" r=\"3\" "
            << "fill=\"" << col << "\"/>\n";
      }
      if (!band_top.empty())
        out << "<polygon points=\"" << band_top << band_bottom << "\" fill=\"" << col
            << "\" fill-opacity=\"" << (dashed ? "0.06" : "0.12") << "\"/>\n";
      out << "<polyline points=\"" << line << "\" fill=\"none\" stroke=\"" << col
          << "\" stroke-width=\"2\"" << (dashed ? " stroke-dasharray=\"5,4\"" : "") << "/>\n"
          << "<text x=\"" << px(w - right + 10) << "\" y=\"" << px(top + 14 + 16 * legend++)
          << "\" font-size=\"12\" fill=\"" << col << "\">" << esc(t.sets[s]) << ", " << esc(rung)
          << "</text>\n";
    }
  out << "</svg>\n";
}

}  // namespace

void horizon_sections(std::ostringstream& out, const std::vector<db::EvaluationRow>& rows) {
  std::vector<std::string> order;
  std::map<std::string, TaskHorizons> tasks;
  for (const auto& r : rows) {
    if (r.metric != "balanced_accuracy" || r.protocol.find('/') != std::string::npos) continue;
    if (r.protocol != "random" && r.protocol != "program") continue;
    std::string base;
    const double x = fraction_of(r.task, base);
    if (!std::isfinite(x)) continue;
    if (!tasks.count(base)) order.push_back(base);
    TaskHorizons& t = tasks[base];
    t.horizons.insert(x);
    t.lines[r.diagnoser][{r.feature_set, r.protocol}][x] = &r;
    if (std::find(t.sets.begin(), t.sets.end(), r.feature_set) == t.sets.end())
      t.sets.push_back(r.feature_set);
    if (std::find(t.diagnosers.begin(), t.diagnosers.end(), r.diagnoser) == t.diagnosers.end())
      t.diagnosers.push_back(r.diagnoser);
  }
  bool first = true;
  for (const auto& base : order) {
    const TaskHorizons& t = tasks.at(base);
    if (t.horizons.size() < 2) continue;
    if (first) {
      out << "<h2>Early diagnosis: horizons</h2>\n<p class=\"note\">Each trace cut at a fraction "
             "H of its planned epochs before its features are computed (labels from the whole "
             "run), on the runs still training at the cut. Solid: program held out; dashed: "
             "random k-fold; bands: intervals. instability_ahead asks, among runs with no "
             "symptom yet, which go on to diverge or oscillate (at H = 1: the triage read as two "
             "classes).</p>\n";
      first = false;
    }
    out << "<h3>Task " << esc(base) << " against the horizon</h3>\n";
    std::vector<std::string> diagnosers = t.diagnosers;
    std::stable_partition(diagnosers.begin(), diagnosers.end(),
                          [](const std::string& d) { return d != kLabelRule; });
    for (const auto& diagnoser : diagnosers) {
      out << "<p class=\"note\">"
          << (diagnoser == kLabelRule ? "The label rule on the prefix" : "Diagnoser") << " <b>"
          << esc(diagnoser) << "</b></p>\n";
      horizon_chart(out, t, diagnoser, {"program", "random"});
    }
  }
}

}  // namespace dynfault::diagnosis::html
