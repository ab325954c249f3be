#include "features/trace_csv.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <vector>

#include "common/check.h"
#include "common/input_file.h"
#include "common/registry.h"
#include "features/csv_table.h"
#include "features/trace_log_detail.h"
#include "features/trace_util.h"

namespace dynfault::features {
namespace {

namespace fs = std::filesystem;

/// Families of metric keys a per-epoch CSV may hold (write_trace_csv's choice).
constexpr const char* kKeyPrefixes[] = {"epoch/", "grad/", "weight/", "act/",
                                        "opt/",   "curv/", "final/",  "probe/"};

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string expected_columns(const std::string& format) {
  if (format == "dynfault")
    return "expected columns: "
           "epoch,train_loss,train_metric,val_loss,val_metric, optionally lr "
           "and metric keys of db/trace.h (grad/global_norm, weight/<p>/norm, "
           "act/..., opt/..., "
           "curv/..., final/...)";
  return "known: epoch, losses, accuracies (or R^2) and learning rates by "
         "their usual names, "
         "and metric keys of db/trace.h";
}

std::string column_label(size_t c, const std::string& header) {
  return "column " + std::to_string(c + 1) + " (" + shown(header) + ")";
}

void apply_metadata(const CsvTable& table, const std::string& name, db::Trace& trace,
                    int64_t& planned) {
  for (size_t i = 0; i < table.meta.size(); ++i) {
    const auto& [k, v] = table.meta[i];
    if (k == "outcome") {
      trace.outcome = v;
    } else if (k == "planned_epochs") {
      double e = 0;
      if (!parse_number(v, e) || !(e >= 0) || e != std::floor(e) || e > 1e12)
        throw ConfigError(name, table.meta_lines[i], "planned_epochs", shown(v),
                          "not a non-negative integer");
      planned = static_cast<int64_t>(e);
    } else if (k == "family") {
      trace.family = v;
    } else if (k == "program") {
      trace.program = v;
    } else if (k == "task") {
      trace.task = v;
    }  // other '# key: value' lines are comments
  }
}

bool is_index_header(const std::string& h) { return h.empty() || h == "Unnamed: 0"; }

/// What each column of a wide table becomes: a metric key, "epoch", or "" (left out).
std::vector<std::string> plan_columns(const CsvTable& table, const std::string& name,
                                      const std::string& format, const TraceLogOptions& options,
                                      TraceLog& out) {
  const bool index_col = is_index_header(table.header[0]);
  std::vector<std::string> plan(table.header.size());
  std::map<std::string, size_t> column_of_key;
  const int line = table.header_line;
  for (size_t c = 0; c < table.header.size(); ++c) {
    const std::string& h = table.header[c];
    std::string lower = h;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char ch) { return std::tolower(ch); });
    std::string key = detail::explicit_target(options, h);
    if (key.empty() && std::find(options.ignore_columns.begin(), options.ignore_columns.end(), h) !=
                           options.ignore_columns.end()) {
      out.left_out.push_back(h + " (--ignore-columns)");
      continue;
    }
    if (key.empty() && c == 0 && index_col) {
      plan[c] = "index";  // the epoch when no column is; else left out
      continue;
    }
    if (key.empty() && h.empty())
      throw ConfigError(name, line, "column " + std::to_string(c + 1), "",
                        "empty column name; " + expected_columns(format));
    if (key.empty() && lower == "epoch") key = "epoch";
    if (key.empty() && format == "lightning" && lower == "step") {
      out.left_out.push_back(h + " (the global step: rows are grouped by epoch)");
      continue;
    }
    if (key.empty()) key = detail::short_name_key(h);
    if (key.empty() && !db::key_pattern_of(h).empty()) key = h;
    if (key.empty() && format != "dynfault") {
      const detail::Recognised rec = detail::recognise_name(h, "");
      if (rec.step_level) {
        out.left_out.push_back(h + " (step-level)");
        continue;
      }
      key = rec.key;
    }
    if (key.empty()) {
      std::string hint = h.find('/') != std::string::npos
                             ? db::closest_metric_key(h)
                             : closest_match(h, {"epoch", "train_loss", "train_metric", "val_loss",
                                                 "val_metric", "lr"});
      throw ConfigError(name, line, "column " + std::to_string(c + 1), shown(h),
                        "unknown column" + (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                            "; " + expected_columns(format) + "; map it with --column TARGET=" +
                            shown(h) + " or leave it out with --ignore-columns " + shown(h));
    }
    if (key == keys::kStepLoss || key.rfind("time/", 0) == 0)
      throw ConfigError(name, line, column_label(c, h), "",
                        "a step-level series cannot be a per-epoch column");
    const auto [it, fresh] = column_of_key.emplace(key, c);
    if (!fresh)
      throw ConfigError(
          name, line, column_label(c, h), "",
          (key == "epoch" ? std::string("a second epoch column")
                          : "gives " + key + " like column " + std::to_string(it->second + 1) +
                                " (" + shown(table.header[it->second]) + ")") +
              "; column given twice? leave one out with --ignore-columns");
    plan[c] = key;
  }
  if (!column_of_key.count("epoch")) {
    if (!index_col)
      throw ConfigError(name, line, "", "",
                        "no epoch column; " + expected_columns(format) +
                            " (or map one with --column epoch=NAME)");
    plan[0] = "epoch";  // pandas' index of a per-epoch DataFrame
  } else if (index_col && plan[0] == "index") {
    plan[0] = "";
    out.left_out.push_back("the pandas index column");
  }
  return plan;
}

/// Reads the rows of a wide table: one row per epoch (dynfault, keras), or several rows per epoch
/// whose values are averaged (lightning).
void read_wide_rows(const CsvTable& table, const std::string& name, const std::string& format,
                    const std::vector<std::string>& plan, TraceLog& out) {
  const size_t epoch_col =
      static_cast<size_t>(std::find(plan.begin(), plan.end(), "epoch") - plan.begin());
  const bool grouped = format == "lightning";
  struct Cell {
    int64_t epoch;
    double sum;
    int64_t n;
  };
  std::vector<std::vector<Cell>> cells(plan.size());
  int64_t last_epoch = -1;
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    const int line = table.row_lines[r];
    double e = 0;
    if (!parse_number(row[epoch_col], e) || !(e >= 0) || e != std::floor(e) || e > 1e12)
      throw ConfigError(name, line, column_label(epoch_col, table.header[epoch_col]),
                        shown(row[epoch_col]), "epoch must be a non-negative integer");
    const auto epoch = static_cast<int64_t>(e);
    if (grouped ? epoch < last_epoch : epoch <= last_epoch)
      throw ConfigError(
          name, line, column_label(epoch_col, table.header[epoch_col]), shown(row[epoch_col]),
          grouped ? "epochs must not decrease" : "epochs must be strictly increasing");
    last_epoch = epoch;
    for (size_t c = 0; c < row.size(); ++c) {
      if (c == epoch_col || plan[c].empty() || plan[c] == "index" || row[c].empty()) continue;
      double v = 0;
      if (!parse_number(row[c], v))
        throw ConfigError(name, line, column_label(c, table.header[c]), shown(row[c]),
                          "not a number (write nan, inf, -inf, or leave the cell empty)");
      auto& col = cells[c];
      if (!col.empty() && col.back().epoch == epoch) {
        col.back().sum += v;
        ++col.back().n;
      } else {
        col.push_back(Cell{epoch, v, 1});
      }
    }
  }
  for (size_t c = 0; c < plan.size(); ++c) {
    if (c == epoch_col || plan[c].empty() || plan[c] == "index") continue;
    out.mapped.emplace_back(table.header[c], plan[c]);
    if (cells[c].empty()) continue;
    db::Series& s = out.trace.series[plan[c]];
    for (const Cell& cell : cells[c]) {
      s.steps.push_back(cell.epoch);
      s.values.push_back(cell.sum / static_cast<double>(cell.n));
    }
  }
  if (table.rows.empty())
    throw ConfigError(name, table.header_line, "", "", "no epoch rows after the header");
}

}  // namespace

const std::vector<std::string>& trace_formats() {
  static const std::vector<std::string> kFormats = {"dynfault", "keras", "lightning",
                                                    "tensorboard-csv"};
  return kFormats;
}

TraceLog parse_trace_log(const std::string& text, const std::string& name,
                         const TraceLogOptions& options) {
  const auto& formats = trace_formats();
  if (options.format != "auto" &&
      std::find(formats.begin(), formats.end(), options.format) == formats.end())
    throw ConfigError(unknown_name_message("trace format", options.format, formats) + " (or auto)");
  const CsvTable table = read_csv_table(text, name);
  TraceLog out;
  out.trace.run_uuid = "csv:" + name;
  out.trace.outcome = "completed";
  int64_t planned = 0;
  apply_metadata(table, name, out.trace, planned);
  out.format = options.format == "auto"
                   ? detail::detect_format(table, is_index_header(table.header[0]))
                   : options.format;
  if (out.format == "tensorboard-csv") {
    detail::read_tensorboard_long(table, name, options, out);
    if (table.rows.empty())
      throw ConfigError(name, table.header_line, "", "", "no rows after the header");
  } else {
    const std::vector<std::string> plan = plan_columns(table, name, out.format, options, out);
    if (out.format == "dynfault")
      for (const char* k : {"train_loss", "train_metric", "val_loss", "val_metric"}) {
        const std::string key = detail::short_name_key(k);
        if (std::find(plan.begin(), plan.end(), key) == plan.end())
          throw ConfigError(
              name, table.header_line, "", "",
              std::string("missing column '") + k + "'; " + expected_columns(out.format));
      }
    read_wide_rows(table, name, out.format, plan, out);
  }
  bool has_loss = false;
  for (const auto& [column, key] : out.mapped) has_loss = has_loss || key == keys::kTrainLoss;
  if (!has_loss)
    throw ConfigError(name, table.header_line, "", "",
                      "no training loss found (" + out.format +
                          " format); map its column with --column train_loss=NAME");
  if (planned > 0) out.trace.recipe_json = "{\"epochs\":" + std::to_string(planned) + "}";
  return out;
}

TraceLog read_trace_log(const std::string& path, const TraceLogOptions& options) {
  // A regular file under a cap, read in one pass: a device or a FIFO cannot hang the command.
  return parse_trace_log(files::read_input_file(path, "trace CSV", files::kMaxTraceCsvBytes), path,
                         options);
}

db::Trace parse_trace_csv(const std::string& text, const std::string& name) {
  TraceLogOptions o;
  o.format = "dynfault";
  return parse_trace_log(text, name, o).trace;
}

db::Trace read_trace_csv(const std::string& path) {
  TraceLogOptions o;
  o.format = "dynfault";
  return read_trace_log(path, o).trace;
}

std::vector<std::string> expand_trace_paths(const std::vector<std::string>& paths,
                                            const std::string& list_file) {
  // (path, where it was given: "" for an argument, "LIST:LINE" for a line of the list)
  std::vector<std::pair<std::string, std::string>> given;
  for (const auto& p : paths) given.emplace_back(p, "");
  if (!list_file.empty()) {
    // Through the capped reader like every other input: a device, a FIFO or a huge file given
    // by mistake is refused before a byte is read, not read line by line without end.
    const std::string text =
        files::read_input_file(list_file, "list of traces", files::kMaxPathListBytes);
    std::istringstream in(text);
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
      if (line.find('\0') != std::string::npos)
        throw ConfigError(list_file, number, "", "", "a NUL byte: not a list of paths, one a line");
      const auto a = line.find_first_not_of(" \t\r");
      if (a == std::string::npos || line[a] == '#') continue;
      const auto b = line.find_last_not_of(" \t\r");
      given.emplace_back(line.substr(a, b - a + 1), list_file + ":" + std::to_string(number));
    }
  }
  std::vector<std::string> out;
  for (const auto& [p, where] : given) {
    const std::string from = where.empty() ? "" : where + ": ";
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (auto it = fs::recursive_directory_iterator(p, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file(ec) && it->path().extension() == ".csv")
          found.push_back(it->path().string());
      if (ec) throw Error(from + "cannot list the directory '" + shown(p) + "': " + ec.message());
      if (found.empty()) throw Error(from + "no *.csv file in the directory '" + shown(p) + "'");
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      throw Error(from + "no trace file '" + shown(p) + "'");
    }
  }
  return out;
}

std::string write_trace_csv(const db::Trace& trace, std::vector<std::string>* left_out) {
  const std::vector<int64_t> epochs = epoch_steps(trace);
  const std::set<int64_t> epoch_set(epochs.begin(), epochs.end());
  std::vector<std::pair<std::string, std::string>> columns = {// (header, key)
                                                              {"train_loss", keys::kTrainLoss},
                                                              {"train_metric", keys::kTrainMetric},
                                                              {"val_loss", keys::kValLoss},
                                                              {"val_metric", keys::kValMetric},
                                                              {"lr", keys::kLr}};
  std::set<std::string> used;
  for (const auto& c : columns) used.insert(c.second);
  for (const auto& [key, s] : trace.series) {
    if (used.count(key)) continue;
    bool ok = key != keys::kStepLoss && key.rfind("time/", 0) != 0;
    bool prefixed = false;
    for (const char* p : kKeyPrefixes) prefixed = prefixed || key.rfind(p, 0) == 0;
    // Only keys the reader accepts back (a key of db/trace.h).
    prefixed = prefixed && !db::key_pattern_of(key).empty();
    ok = ok && prefixed && key.find(',') == std::string::npos;
    for (size_t i = 0; ok && i < s.steps.size(); ++i) ok = epoch_set.count(s.steps[i]) > 0;
    // One point per epoch at most.
    for (size_t i = 1; ok && i < s.steps.size(); ++i) ok = s.steps[i] > s.steps[i - 1];
    if (ok) {
      columns.emplace_back(key, key);
    } else if (left_out) {
      left_out->push_back(key);
    }
  }
  std::ostringstream out;
  out << "# dynfault per-epoch trace of run " << trace.run_uuid << " (docs/diagnose.md)\n";
  out << "# outcome: " << trace.outcome << '\n';
  if (const int64_t p = planned_epochs(trace); p > 0) out << "# planned_epochs: " << p << '\n';
  if (!trace.family.empty()) out << "# family: " << trace.family << '\n';
  if (!trace.program.empty()) out << "# program: " << trace.program << '\n';
  if (!trace.task.empty()) out << "# task: " << trace.task << '\n';
  out << "epoch";
  for (const auto& c : columns) out << ',' << c.first;
  out << '\n';
  for (int64_t e : epochs) {
    out << e;
    for (const auto& c : columns) {
      out << ',';
      const db::Series* s = trace.find(c.second);
      if (!s) continue;
      const auto it = std::lower_bound(s->steps.begin(), s->steps.end(), e);
      if (it != s->steps.end() && *it == e)
        out << csv_number(s->values[static_cast<size_t>(it - s->steps.begin())]);
    }
    out << '\n';
  }
  return out.str();
}

}  // namespace dynfault::features
