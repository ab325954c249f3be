// The per-task sections of the HTML report: scores per rung, the ladder chart, losses between
// rungs, per-class recall, a confusion matrix and the paired comparisons.
#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>

#include "diagnosis/evaluation.h"
#include "diagnosis/report_html.h"

namespace dynfault::diagnosis::html {
namespace {

using nlohmann::json;
using CellKey = std::pair<std::string, std::string>;  // (diagnoser, feature set)

struct Loss {
  std::string from, to;
  const db::EvaluationRow* row = nullptr;
};

struct CellRows {
  std::map<std::string, const db::EvaluationRow*> ba;           // rung -> balanced accuracy row
  std::map<std::string, std::map<std::string, double>> recall;  // rung -> class -> recall
  std::vector<Loss> losses;
};

struct TaskRows {
  std::vector<std::string> rungs;  // in order of appearance
  std::vector<CellKey> order;
  std::map<CellKey, CellRows> cells;
  std::vector<std::pair<std::string, const db::EvaluationRow*>> paired;  // (rung, row)
};

json details_of(const db::EvaluationRow* r) {
  return r ? json::parse(r->details, nullptr, /*allow_exceptions=*/false) : json();
}

std::string verdict_of(const db::EvaluationRow* r) {
  const json d = details_of(r);
  return d.is_object() && d.contains("verdict") && d["verdict"].is_string()
             ? d["verdict"].get<std::string>()
             : std::string("&ndash;");
}

CellRows& cell(TaskRows& t, const db::EvaluationRow& r) {
  const CellKey key{r.diagnoser, r.feature_set};
  if (!t.cells.count(key)) t.order.push_back(key);
  return t.cells[key];
}

// Reads one row into its task; rows written before the ladder keep their meaning.
void add_row(TaskRows& t, const db::EvaluationRow& r) {
  std::string protocol = r.protocol;
  if (protocol == "within") protocol = "random";
  if (protocol == "heldout") protocol = "program";
  if (protocol == "gap") protocol = loss_protocol("random", "program");
  if (protocol == "paired") protocol = paired_protocol("program");
  if (protocol.rfind("paired/", 0) == 0) {
    t.paired.emplace_back(protocol.substr(7), &r);
    return;
  }
  if (protocol.rfind("loss/", 0) == 0) {
    if (r.metric != "balanced_accuracy") return;
    const std::string rest = protocol.substr(5);
    const size_t slash = rest.find('/');
    if (slash == std::string::npos) return;
    cell(t, r).losses.push_back(Loss{rest.substr(0, slash), rest.substr(slash + 1), &r});
    return;
  }
  if (std::find(t.rungs.begin(), t.rungs.end(), protocol) == t.rungs.end())
    t.rungs.push_back(protocol);
  if (r.metric == "balanced_accuracy") cell(t, r).ba[protocol] = &r;
  if (r.metric.rfind("recall/", 0) == 0) cell(t, r).recall[protocol][r.metric.substr(7)] = r.value;
}

std::string row_cells(const CellKey& key) {
  return "<td class=\"l\">" + esc(key.first) + "</td><td class=\"l\">" + esc(key.second) + "</td>";
}

void setup_note(std::ostringstream& out, const TaskRows& t) {
  std::string rungs, dropped;
  std::map<std::string, std::string> dropped_by_set;
  int64_t seeds = 1;
  for (const auto& key : t.order)
    for (const auto& [rung, row] : t.cells.at(key).ba) {
      const json d = details_of(row);
      if (!d.is_object()) continue;
      seeds = d.value("learner_seeds", seeds);
      if (d.contains("dropped_label_inputs") && d["dropped_label_inputs"].is_array() &&
          !d["dropped_label_inputs"].empty()) {
        std::string cols;
        for (const auto& c : d["dropped_label_inputs"])
          cols += (cols.empty() ? "" : ", ") + c.get<std::string>();
        dropped_by_set[key.second] = cols;
      }
    }
  for (const auto& rung : t.rungs)
    for (const auto& key : t.order)
      if (auto it = t.cells.at(key).ba.find(rung); it != t.cells.at(key).ba.end()) {
        const json d = details_of(it->second);
        const int64_t unseen = d.is_object() ? d.value("unseen_class_traces", int64_t{0}) : 0;
        rungs += "<li><b>" + esc(rung) +
                 "</b>: " + esc(d.is_object() ? d.value("split", rung) : rung) +
                 (unseen > 0 ? "; " + std::to_string(unseen) +
                                   " test traces of a class absent from their training fold "
                                   "(predicted wrong whatever the features)"
                             : std::string()) +
                 "</li>";
        break;
      }
  out << "<ul class=\"note\">" << rungs << "</ul>\n<p class=\"note\">" << seeds << " learner seed"
      << (seeds == 1 ? "" : "s") << ". ";
  if (dropped_by_set.empty()) {
    out << "No feature column was dropped as a restatement of the label rule.";
  } else {
    out << "Columns dropped because they restate the label rule:";
    for (const auto& [set, cols] : dropped_by_set)
      out << " <b>" << esc(set) << "</b>: " << esc(cols) << ".";
  }
  out << "</p>\n";
}

void score_table(std::ostringstream& out, const TaskRows& t) {
  out << "<table class=\"scores\">\n<tr><th class=\"l\">diagnoser</th><th class=\"l\">feature set"
         "</th>";
  for (const auto& rung : t.rungs) out << "<th>" << esc(rung) << "</th>";
  out << "<th>traces</th></tr>\n";
  for (const auto& key : t.order) {
    const CellRows& c = t.cells.at(key);
    out << "<tr>" << row_cells(key);
    int64_t n = 0;
    for (const auto& rung : t.rungs) {
      const auto it = c.ba.find(rung);
      if (it == c.ba.end()) {
        out << "<td>&ndash;</td>";
        continue;
      }
      n = it->second->n;
      out << "<td>" << interval(it->second->value, it->second->ci_low, it->second->ci_high)
          << "</td>";
    }
    out << "<td>" << n << "</td></tr>\n";
  }
  out << "</table>\n";
}

// One chart per feature set: balanced accuracy on every rung, one line per diagnoser with its
// interval band; the label rule, when present, as a dashed reference line on each.
void ladder_chart(std::ostringstream& out, const TaskRows& t, const std::string& set) {
  std::vector<const CellKey*> lines;
  for (const auto& key : t.order)
    if (key.second == set || key.first == kLabelRule) lines.push_back(&key);
  const double w = 660, h = 260, left = 46, right = 190, top = 12, bottom = 34;
  const size_t n = t.rungs.size();
  auto sx = [&](size_t k) {
    return n < 2 ? (left + w - right) / 2
                 : left + static_cast<double>(k) / static_cast<double>(n - 1) * (w - left - right);
  };
  auto sy = [&](double v) { return top + (1 - std::clamp(v, 0.0, 1.0)) * (h - top - bottom); };
  out << "<svg class=\"ladder\" width=\"" << px(w) << "\" height=\"" << px(h)
      << "\" role=\"img\">\n<title>balanced accuracy per rung on " << esc(set) << "</title>\n";
  for (double v : {0.0, 0.25, 0.5, 0.75, 1.0})
    out << "<line x1=\"" << px(left) << "\" y1=\"" << px(sy(v)) << "\" x2=\"" << px(w - right)
        << "\" y2=\"" << px(sy(v)) << "\" stroke=\"#ddd\"/>\n<text x=\"" << px(left - 4)
        << "\" y=\"" << px(sy(v) + 4) << "\" font-size=\"11\" text-anchor=\"end\">" << num(v, 2)
        << "</text>\n";
  for (size_t k = 0; k < n; ++k)
    out << "<text x=\"" << px(sx(k)) << "\" y=\"" << px(h - 14)
        << "\" font-size=\"11\" text-anchor=\"middle\">" << esc(t.rungs[k]) << "</text>\n";
  for (size_t l = 0; l < lines.size(); ++l) {
    const CellRows& c = t.cells.at(*lines[l]);
    const bool rule = lines[l]->first == kLabelRule;
    const char* col = rule ? "#777777" : colour(l);
    std::string band_top, band_bottom, line;
    for (size_t k = 0; k < n; ++k) {
      const auto it = c.ba.find(t.rungs[k]);
      if (it == c.ba.end() || !std::isfinite(it->second->value)) continue;
      const auto* r = it->second;
      line += px(sx(k)) + "," + px(sy(r->value)) + " ";
      if (std::isfinite(r->ci_low) && std::isfinite(r->ci_high)) {
        band_top += px(sx(k)) + "," + px(sy(r->ci_high)) + " ";
        band_bottom = px(sx(k)) + "," + px(sy(r->ci_low)) + " " + band_bottom;
      }
      out << "<circle cx=\"" << px(sx(k)) << "\" cy=\"" << px(sy(r->value)) << "\" r=\"3\" fill=\""
          << col << "\"/>\n";
    }
    if (!band_top.empty() && !rule)
      out << "<polygon points=\"" << band_top << band_bottom << "\" fill=\"" << col
          << "\" fill-opacity=\"0.12\"/>\n";
    out << "<polyline points=\"" << line << "\" fill=\"none\" stroke=\"" << col
        << "\" stroke-width=\"2\"" << (rule ? " stroke-dasharray=\"5,4\"" : "") << "/>\n"
        << "<text x=\"" << px(w - right + 10) << "\" y=\"" << px(top + 14 + 16 * l)
        << "\" font-size=\"12\" fill=\"" << col << "\">" << esc(lines[l]->first) << "</text>\n";
  }
  out << "</svg>\n";
}

void loss_table(std::ostringstream& out, const TaskRows& t) {
  std::vector<std::pair<std::string, std::string>> columns;
  for (const auto& key : t.order)
    for (const auto& l : t.cells.at(key).losses)
      if (std::find(columns.begin(), columns.end(), std::make_pair(l.from, l.to)) == columns.end())
        columns.emplace_back(l.from, l.to);
  if (columns.empty()) return;
  out << "<h3>Loss between rungs (lower &minus; higher rung, paired on the same resamples)</h3>\n"
         "<table class=\"losses\">\n<tr><th class=\"l\">diagnoser</th><th class=\"l\">feature set"
         "</th>";
  for (const auto& [from, to] : columns)
    out << "<th>" << esc(from) << " &rarr; " << esc(to) << "</th>";
  out << "</tr>\n";
  for (const auto& key : t.order) {
    out << "<tr>" << row_cells(key);
    for (const auto& col : columns) {
      const Loss* found = nullptr;
      for (const auto& l : t.cells.at(key).losses)
        if (l.from == col.first && l.to == col.second) found = &l;
      if (!found) {
        out << "<td>&ndash;</td>";
        continue;
      }
      out << "<td>" << interval(found->row->value, found->row->ci_low, found->row->ci_high)
          << " <span class=\"ci\">" << verdict_of(found->row) << "</span></td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n";
}

// Horizontal bars of the loss from the first to the last rung, whiskers at the interval.
void loss_bars(std::ostringstream& out, const TaskRows& t) {
  if (t.rungs.size() < 2) return;
  const std::string from = t.rungs.front(), to = t.rungs.back();
  std::vector<std::pair<const CellKey*, const db::EvaluationRow*>> bars;
  double lo = 0, hi = 0;
  for (const auto& key : t.order)
    for (const auto& l : t.cells.at(key).losses)
      if (l.from == from && l.to == to) {
        bars.emplace_back(&key, l.row);
        for (double v : {l.row->value, l.row->ci_low, l.row->ci_high})
          if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
          }
      }
  if (bars.empty()) return;
  if (hi - lo < 1e-9) hi = lo + 0.1;
  const double label_w = 260, plot_w = 420, row_h = 18, top = 22;
  const double h = top + row_h * static_cast<double>(bars.size()) + 8;
  auto x = [&](double v) { return label_w + (v - lo) / (hi - lo) * plot_w; };
  out << "<h3>Loss from " << esc(from) << " to " << esc(to) << " with interval</h3>\n"
      << "<svg class=\"gap\" width=\"" << px(label_w + plot_w + 20) << "\" height=\"" << px(h)
      << "\" role=\"img\">\n<title>balanced-accuracy loss (" << esc(from) << " - " << esc(to)
      << ") with interval</title>\n<line x1=\"" << px(x(0)) << "\" y1=\"" << px(top - 6)
      << "\" x2=\"" << px(x(0)) << "\" y2=\"" << px(h - 4) << "\" stroke=\"#999\"/>\n<text x=\""
      << px(x(0)) << "\" y=\"12\" font-size=\"11\" text-anchor=\"middle\">0</text>\n<text x=\""
      << px(x(hi)) << "\" y=\"12\" font-size=\"11\" text-anchor=\"end\">" << num(hi, 2)
      << "</text>\n";
  double y = top;
  for (const auto& [key, g] : bars) {
    out << "<text x=\"" << px(label_w - 6) << "\" y=\"" << px(y + 12)
        << "\" font-size=\"11\" text-anchor=\"end\">" << esc(key->first + " / " + key->second)
        << "</text>\n";
    if (std::isfinite(g->value)) {
      const double a = std::min(x(0), x(g->value)), b = std::max(x(0), x(g->value));
      out << "<rect x=\"" << px(a) << "\" y=\"" << px(y + 3) << "\" width=\"" << px(b - a)
          << "\" height=\"" << px(row_h - 6) << "\" fill=\"" << colour(g->value >= 0 ? 0 : 1)
          << "\"/>\n";
      if (std::isfinite(g->ci_low) && std::isfinite(g->ci_high))
        out << "<line x1=\"" << px(x(g->ci_low)) << "\" y1=\"" << px(y + row_h / 2) << "\" x2=\""
            << px(x(g->ci_high)) << "\" y2=\"" << px(y + row_h / 2)
            << "\" stroke=\"#000\" stroke-width=\"1.2\"/>\n";
    }
    y += row_h;
  }
  out << "</svg>\n";
}

void recall_table(std::ostringstream& out, const TaskRows& t) {
  std::vector<std::string> classes;
  for (const auto& key : t.order)
    for (const auto& [rung, by_class] : t.cells.at(key).recall)
      for (const auto& [cls, v] : by_class)
        if (std::find(classes.begin(), classes.end(), cls) == classes.end()) classes.push_back(cls);
  if (classes.empty()) return;
  std::sort(classes.begin(), classes.end());
  out << "<h3>Recall per class and rung</h3>\n<table class=\"recall\">\n<tr><th class=\"l\">"
         "diagnoser</th><th class=\"l\">feature set</th><th class=\"l\">rung</th>";
  for (const auto& c : classes) out << "<th>" << esc(c) << "</th>";
  out << "</tr>\n";
  for (const auto& key : t.order)
    for (const auto& rung : t.rungs) {
      const auto& rec = t.cells.at(key).recall;
      const auto it = rec.find(rung);
      if (it == rec.end()) continue;
      out << "<tr>" << row_cells(key) << "<td class=\"l\">" << esc(rung) << "</td>";
      for (const auto& c : classes) {
        const auto v = it->second.find(c);
        out << "<td>" << num(v == it->second.end() ? NAN : v->second) << "</td>";
      }
      out << "</tr>\n";
    }
  out << "</table>\n";
}

// Confusion matrix of the diagnoser with the best balanced accuracy on the top rung.
void confusion(std::ostringstream& out, const TaskRows& t) {
  if (t.rungs.empty()) return;
  const std::string rung = t.rungs.back();
  const db::EvaluationRow* best = nullptr;
  for (const auto& key : t.order) {
    if (key.first == kLabelRule) continue;
    const auto& ba = t.cells.at(key).ba;
    const auto it = ba.find(rung);
    if (it != ba.end() && std::isfinite(it->second->value) &&
        (!best || it->second->value > best->value))
      best = it->second;
  }
  if (!best) return;
  const json d = details_of(best);
  if (!d.is_object() || !d.contains("classes") || !d.contains("confusion")) return;
  const auto classes = d["classes"].get<std::vector<std::string>>();
  const auto counts = d["confusion"].get<std::vector<std::vector<int64_t>>>();
  out << "<h3>Confusion matrix on rung " << esc(rung) << ": " << esc(best->diagnoser) << " on "
      << esc(best->feature_set) << " (balanced accuracy " << num(best->value) << ")</h3>\n"
      << "<table class=\"confusion\">\n<tr><th class=\"l\">true \\ predicted</th>";
  for (const auto& c : classes) out << "<th>" << esc(c) << "</th>";
  out << "</tr>\n";
  for (size_t i = 0; i < counts.size() && i < classes.size(); ++i) {
    int64_t total = 0;
    for (int64_t v : counts[i]) total += v;
    out << "<tr><th class=\"l\">" << esc(classes[i]) << "</th>";
    for (int64_t v : counts[i]) {
      const double share = total > 0 ? static_cast<double>(v) / static_cast<double>(total) : 0;
      const int light = static_cast<int>(std::lround(255 - 180 * share));
      out << "<td style=\"background:rgb(" << light << "," << light << ",255)\">" << v << "</td>";
    }
    out << "</tr>\n";
  }
  out << "</table>\n<p class=\"note\">Cell shade: share of the row (recall of the true "
         "class).</p>\n";
}

void paired(std::ostringstream& out, const TaskRows& t) {
  if (t.paired.empty()) return;
  out << "<h3>Paired feature-set comparisons (balanced accuracy, same rung and resamples)</h3>\n"
         "<table class=\"paired\">\n<tr><th class=\"l\">diagnoser</th><th class=\"l\">a vs b</th>"
         "<th class=\"l\">rung</th><th>a &minus; b</th><th class=\"l\">verdict</th>"
         "<th>share &gt; 0</th></tr>\n";
  for (const auto& [rung, r] : t.paired) {
    const json d = details_of(r);
    const double share =
        d.is_object() && d.contains("share_positive") && d["share_positive"].is_number()
            ? d["share_positive"].get<double>()
            : NAN;
    out << "<tr><td class=\"l\">" << esc(r->diagnoser) << "</td><td class=\"l\">"
        << esc(r->feature_set) << "</td><td class=\"l\">" << esc(rung) << "</td><td>"
        << interval(r->value, r->ci_low, r->ci_high) << "</td><td class=\"l\">" << verdict_of(r)
        << "</td><td>" << num(share) << "</td></tr>\n";
  }
  out << "</table>\n";
}

}  // namespace

void task_sections(std::ostringstream& out, const std::vector<db::EvaluationRow>& rows) {
  std::vector<std::string> task_order;
  std::map<std::string, TaskRows> tasks;
  for (const auto& r : rows) {
    if (r.task == kTaskProgramIdentity || r.task == kTaskProgramVariance) continue;
    if (!tasks.count(r.task)) task_order.push_back(r.task);
    add_row(tasks[r.task], r);
  }
  for (const auto& name : task_order) {
    const TaskRows& t = tasks[name];
    out << "<h2>Task " << esc(name) << "</h2>\n";
    if (!t.order.empty()) {
      setup_note(out, t);
      score_table(out, t);
      out << "<h3>The ladder: balanced accuracy per rung (band = interval)</h3>\n";
      std::vector<std::string> sets;
      for (const auto& key : t.order)
        if (key.first != kLabelRule &&
            std::find(sets.begin(), sets.end(), key.second) == sets.end())
          sets.push_back(key.second);
      for (const auto& set : sets) {
        out << "<p class=\"note\">Feature set <b>" << esc(set) << "</b></p>\n";
        ladder_chart(out, t, set);
      }
      loss_table(out, t);
      loss_bars(out, t);
      recall_table(out, t);
      confusion(out, t);
    }
    paired(out, t);
  }
}

}  // namespace dynfault::diagnosis::html
