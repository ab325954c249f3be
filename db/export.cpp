#include "db/export.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/output_file.h"
#include "db/database.h"

namespace dynfault::db {

namespace fs = std::filesystem;
using Json = nlohmann::json;

namespace {

/// One exported file: common/output_file.h's checked, buffered writer. close() reports a failed
/// write, a full disk named as such.
class OutFile {
 public:
  OutFile(const fs::path& path, int64_t& files) : out_(path, "export") { ++files; }
  files::OutputStream& stream() { return out_; }
  template <typename T>
  OutFile& operator<<(const T& x) {
    out_ << x;
    return *this;
  }
  void close() { out_.close(); }

 private:
  files::OutputStream out_;
};

/// Writes one CSV row (fields already formatted) followed by CRLF, as RFC 4180 says.
void csv_row(OutFile& f, const std::vector<std::string>& fields) {
  auto& out = f.stream();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out << ',';
    out << csv_field(fields[i]);
  }
  out << "\r\n";
}

/// A REAL column that may be NULL: NULL means NaN where `null_is_nan`, else an empty field.
std::string real_column(const Statement& s, int column, bool null_is_nan) {
  if (s.column_is_null(column)) return null_is_nan ? format_double(std::nan("")) : "";
  return format_double(s.column_double(column));
}

std::string int_column(const Statement& s, int column) {
  return s.column_is_null(column) ? "" : std::to_string(s.column_int64(column));
}

/// A file name part: [A-Za-z0-9_.-], anything else becomes '_'.
std::string safe_file_name(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) c = '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

/// An MLflow param/tag/metric key as a relative path: MLflow accepts alphanumerics, '_', '-',
/// '.', ' ' and '/' (a '/' makes subdirectories); other characters become '_', and empty, "."
/// or ".." path components are refused by MLflow, so they become "_".
fs::path key_path(const std::string& key) {
  fs::path p;
  size_t start = 0;
  while (true) {
    const size_t slash = key.find('/', start);
    std::string part =
        key.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    for (char& c : part)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
            c == ' '))
        c = '_';
    if (part.empty() || part == "." || part == "..") part = "_" + part;
    p /= part;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return p;
}

/// A YAML double-quoted scalar (JSON string syntax is a subset of it).
std::string yaml_string(const std::string& s) {
  return Json(s).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string yaml_time(int64_t ms) { return ms == 0 ? "null" : std::to_string(ms); }

/// file:// URI of an absolute path, percent-encoding what a URI path may not hold.
std::string file_uri(const fs::path& path) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out = "file://";
  for (unsigned char c : path.string()) {
    if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

/// MLflow's RunStatus enum as stored in meta.yaml.
int mlflow_status(const std::string& status) {
  if (status == "RUNNING") return 1;
  if (status == "SCHEDULED") return 2;
  if (status == "FINISHED") return 3;
  if (status == "FAILED") return 4;
  if (status == "KILLED") return 5;
  return 1;
}

struct RunInfoRow {
  std::string run_uuid, campaign, program, family, task, faults_json, fault_ids, recipe_json;
  std::string status, outcome, error, lifecycle_stage;
  int64_t seed = 0, repetition = 0, start_time = 0, end_time = 0, attempts = 0;
  double timeout_s = 0;
};

constexpr const char* kRunSelect =
    "SELECT run_uuid, campaign, program_id, family, task, faults_json, fault_ids, seed, "
    "repetition, recipe_json, timeout_s, status, outcome, error, start_time, end_time, attempts, "
    "lifecycle_stage FROM runs WHERE (?1 = '' OR campaign = ?1) ORDER BY run_uuid";

std::vector<RunInfoRow> read_runs(Database& db, const std::string& campaign) {
  auto select = db.prepare(kRunSelect);
  select.bind(1, campaign);
  std::vector<RunInfoRow> rows;
  while (select.step()) {
    RunInfoRow r;
    r.run_uuid = select.column_text(0);
    r.campaign = select.column_text(1);
    r.program = select.column_text(2);
    r.family = select.column_text(3);
    r.task = select.column_text(4);
    r.faults_json = select.column_text(5);
    r.fault_ids = select.column_text(6);
    r.seed = select.column_int64(7);
    r.repetition = select.column_int64(8);
    r.recipe_json = select.column_text(9);
    r.timeout_s = select.column_double(10);
    r.status = select.column_text(11);
    r.outcome = select.column_text(12);
    r.error = select.column_text(13);
    r.start_time = select.column_is_null(14) ? 0 : select.column_int64(14);
    r.end_time = select.column_is_null(15) ? 0 : select.column_int64(15);
    r.attempts = select.column_int64(16);
    r.lifecycle_stage = select.column_text(17);
    rows.push_back(std::move(r));
  }
  return rows;
}

/// Flattens `j` into `out` as dotted keys: objects recurse, arrays and scalars become one value
/// (arrays as JSON text, strings as they are).
void flatten(const Json& j, const std::string& prefix,
             std::vector<std::pair<std::string, std::string>>& out) {
  if (j.is_object() && !j.empty()) {
    for (auto it = j.begin(); it != j.end(); ++it)
      flatten(it.value(), prefix.empty() ? it.key() : prefix + "." + it.key(), out);
    return;
  }
  std::string value;
  if (j.is_string()) {
    value = j.get<std::string>();
  } else if (j.is_null()) {
    value = "";
  } else if (j.is_number_float()) {
    value = format_double(j.get<double>());
  } else {
    value = j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  out.emplace_back(prefix, value);
}

/// The parameters of a run, as exported to params.csv and MLflow params/: the run facts, the
/// injected faults (fault.<i>.mutator, fault.<i>.params.<name>, ...) and the Recipe's fields
/// (recipe.<path>; the layer list as one JSON value; provenance, a program fact, left out).
std::vector<std::pair<std::string, std::string>> run_params(const RunInfoRow& r) {
  std::vector<std::pair<std::string, std::string>> out = {
      {"campaign", r.campaign},
      {"program", r.program},
      {"family", r.family},
      {"task", r.task},
      {"fault_ids", r.fault_ids},
      {"seed", std::to_string(r.seed)},
      {"repetition", std::to_string(r.repetition)},
      {"timeout_s", format_double(r.timeout_s)},
  };
  const auto parse = [](const std::string& text) {
    return Json::parse(text, nullptr, /*allow_exceptions=*/false);
  };
  const Json faults = parse(r.faults_json);
  if (faults.is_array()) {
    for (size_t i = 0; i < faults.size(); ++i)
      flatten(faults[i], "fault." + std::to_string(i), out);
  }
  Json recipe = parse(r.recipe_json);
  if (recipe.is_object()) {
    recipe.erase("provenance");
    recipe.erase("faults");  // the same as faults_json above
    flatten(recipe, "recipe", out);
  }
  return out;
}

// --- csv -----------------------------------------------------------------------------------------

/// campaigns.csv: the campaign rows (of `campaign`, "" = all).
void write_campaigns_csv(Database& db, const std::string& campaign, const fs::path& dir,
                         ExportSummary& summary) {
  OutFile f(dir / "campaigns.csv", summary.files);
  csv_row(f, {"name", "config_hash", "created_ms", "config_text"});
  auto s = db.prepare(
      "SELECT name, config_hash, created_ms, config_text FROM campaigns "
      "WHERE ?1 = '' OR name = ?1 ORDER BY name");
  s.bind(1, campaign);
  while (s.step())
    csv_row(f, {s.column_text(0), s.column_text(1), int_column(s, 2), s.column_text(3)});
  f.close();
}

/// programs.csv: the programs (of the runs of `campaign`, "" = all).
void write_programs_csv(Database& db, const std::string& campaign, const fs::path& dir,
                        ExportSummary& summary) {
  OutFile f(dir / "programs.csv", summary.files);
  csv_row(f, {"program_id", "family", "task", "dataset", "source", "changes", "metric",
              "satisfactory"});
  auto s = db.prepare(
      "SELECT program_id, family, task, dataset, source, changes, metric, satisfactory "
      "FROM programs WHERE ?1 = '' OR program_id IN "
      "(SELECT program_id FROM runs WHERE campaign = ?1) ORDER BY program_id");
  s.bind(1, campaign);
  while (s.step())
    csv_row(f, {s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3),
                s.column_text(4), s.column_text(5), s.column_text(6), real_column(s, 7, false)});
  f.close();
}

/// runs.csv (one row per run) and params.csv (run_params(), one row per key).
void write_runs_csv(const std::vector<RunInfoRow>& runs, const fs::path& dir,
                    ExportSummary& summary) {
  {
    OutFile f(dir / "runs.csv", summary.files);
    csv_row(f, {"run_uuid", "campaign", "program_id", "family", "task", "fault_ids", "faults_json",
                "seed", "repetition", "timeout_s", "status", "outcome", "error", "start_time",
                "end_time", "attempts", "lifecycle_stage", "recipe_json"});
    const auto time = [](int64_t ms) { return ms == 0 ? std::string() : std::to_string(ms); };
    for (const auto& r : runs)
      csv_row(f, {r.run_uuid, r.campaign, r.program, r.family, r.task, r.fault_ids, r.faults_json,
                  std::to_string(r.seed), std::to_string(r.repetition), format_double(r.timeout_s),
                  r.status, r.outcome, r.error, time(r.start_time), time(r.end_time),
                  std::to_string(r.attempts), r.lifecycle_stage, r.recipe_json});
    f.close();
  }
  OutFile f(dir / "params.csv", summary.files);
  csv_row(f, {"run_uuid", "key", "value"});
  for (const auto& r : runs)
    for (const auto& [k, v] : run_params(r)) csv_row(f, {r.run_uuid, k, v});
  f.close();
}

/// labels.csv: the labels of the runs of `campaign` ("" = all).
void write_labels_csv(Database& db, const std::string& campaign, const fs::path& dir,
                      ExportSummary& summary) {
  OutFile f(dir / "labels.csv", summary.files);
  csv_row(f, {"run_uuid", "task", "label", "details"});
  auto s = db.prepare(
      "SELECT l.run_uuid, l.task, l.label, l.details FROM labels AS l "
      "JOIN runs AS r ON r.run_uuid = l.run_uuid WHERE ?1 = '' OR r.campaign = ?1 "
      "ORDER BY l.run_uuid, l.task");
  s.bind(1, campaign);
  while (s.step())
    csv_row(f, {s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3)});
  f.close();
}

/// metrics.csv: every metric point of the runs of `campaign` ("" = all), in key order.
void write_metrics_csv(Database& db, const std::string& campaign, const fs::path& dir,
                       ExportSummary& summary) {
  OutFile f(dir / "metrics.csv", summary.files);
  csv_row(f, {"run_uuid", "key", "value", "step", "timestamp"});
  auto s = db.prepare(
      "SELECT m.run_uuid, k.key, m.value, m.is_nan, m.step, m.timestamp FROM metrics AS m "
      "JOIN metric_keys AS k ON k.key_id = m.key_id JOIN runs AS r ON r.run_uuid = m.run_uuid "
      "WHERE ?1 = '' OR r.campaign = ?1 ORDER BY m.run_uuid, m.key_id, m.step");
  s.bind(1, campaign);
  while (s.step()) {
    const bool nan = s.column_int64(3) != 0 || s.column_is_null(2);
    csv_row(f, {s.column_text(0), s.column_text(1),
                format_double(nan ? std::nan("") : s.column_double(2)),
                std::to_string(s.column_int64(4)), std::to_string(s.column_int64(5))});
    ++summary.metric_points;
  }
  f.close();
}

/// `file_name`.csv: feature set `set` as one wide table, run_uuid then the features in their
/// stored order (NaN where a run has no value).
void write_feature_csv(Database& db, const std::string& campaign, const std::string& set,
                       const fs::path& path, ExportSummary& summary) {
  std::vector<std::string> header = {"run_uuid"};
  {
    auto s = db.prepare("SELECT name FROM feature_names WHERE feature_set = ?1 ORDER BY idx");
    s.bind(1, set);
    while (s.step()) header.push_back(s.column_text(0));
  }
  OutFile f(path, summary.files);
  csv_row(f, header);
  auto s = db.prepare(
      "SELECT v.run_uuid, v.idx, v.value, v.is_nan FROM feature_values AS v "
      "JOIN runs AS r ON r.run_uuid = v.run_uuid "
      "WHERE v.feature_set = ?1 AND (?2 = '' OR r.campaign = ?2) ORDER BY v.run_uuid, v.idx");
  s.bind_all(set, campaign);
  std::vector<std::string> row;
  const auto flush = [&] {
    if (!row.empty()) csv_row(f, row);
    row.clear();
  };
  while (s.step()) {
    const std::string uuid = s.column_text(0);
    if (row.empty() || row[0] != uuid) {
      flush();
      row.assign(header.size(), format_double(std::nan("")));
      row[0] = uuid;
    }
    const int64_t idx = s.column_int64(1);
    const bool nan = s.column_int64(3) != 0 || s.column_is_null(2);
    if (idx >= 0 && idx + 1 < static_cast<int64_t>(row.size()))
      row[idx + 1] = format_double(nan ? std::nan("") : s.column_double(2));
  }
  flush();
  f.close();
}

/// features_<set>.csv for every stored feature set (file names made safe and distinct).
void write_features_csv(Database& db, const std::string& campaign, const fs::path& dir,
                        ExportSummary& summary) {
  std::vector<std::string> sets;
  {
    auto s = db.prepare("SELECT feature_set FROM feature_sets ORDER BY feature_set");
    while (s.step()) sets.push_back(s.column_text(0));
  }
  std::set<std::string> used_names;
  for (const auto& set : sets) {
    std::string name = "features_" + safe_file_name(set);
    while (!used_names.insert(name).second) name += "_";
    write_feature_csv(db, campaign, set, dir / (name + ".csv"), summary);
  }
}

/// evaluations.csv: every evaluation row. Evaluations are not tied to one campaign: written
/// whole, also under --campaign.
void write_evaluations_csv(Database& db, const fs::path& dir, ExportSummary& summary) {
  OutFile f(dir / "evaluations.csv", summary.files);
  csv_row(f, {"evaluation_id", "task", "protocol", "diagnoser", "feature_set", "metric", "value",
              "ci_low", "ci_high", "n", "details", "created_ms"});
  auto s = db.prepare(
      "SELECT evaluation_id, task, protocol, diagnoser, feature_set, metric, value, ci_low, "
      "ci_high, n, details, created_ms FROM evaluations ORDER BY rowid");
  while (s.step())
    csv_row(f,
            {s.column_text(0), s.column_text(1), s.column_text(2), s.column_text(3),
             s.column_text(4), s.column_text(5), real_column(s, 6, true), real_column(s, 7, true),
             real_column(s, 8, true), int_column(s, 9), s.column_text(10), int_column(s, 11)});
  f.close();
}

void export_csv(Database& db, const std::string& campaign, const std::vector<RunInfoRow>& runs,
                const fs::path& dir, ExportSummary& summary) {
  write_campaigns_csv(db, campaign, dir, summary);
  write_programs_csv(db, campaign, dir, summary);
  write_runs_csv(runs, dir, summary);
  write_labels_csv(db, campaign, dir, summary);
  write_metrics_csv(db, campaign, dir, summary);
  write_features_csv(db, campaign, dir, summary);
  write_evaluations_csv(db, dir, summary);
}

// --- mlruns --------------------------------------------------------------------------------------

void write_text(const fs::path& path, const std::string& text, int64_t& files) {
  fs::create_directories(path.parent_path());
  OutFile f(path, files);
  f << text;  // MLflow writes params and tags without a trailing newline
  f.close();
}

void write_experiment(const fs::path& root, const fs::path& final_root, const std::string& id,
                      const std::string& name, int64_t created_ms, int64_t& files) {
  fs::create_directories(root / id);
  OutFile f(root / id / "meta.yaml", files);
  // Keys in the order yaml.safe_dump writes them (sorted).
  f << "artifact_location: " << yaml_string(file_uri(final_root / id)) << '\n'
    << "creation_time: " << created_ms << '\n'
    << "experiment_id: '" << id << "'\n"
    << "last_update_time: " << created_ms << '\n'
    << "lifecycle_stage: active\n"
    << "name: " << yaml_string(name) << '\n';
  f.close();
}

/// The experiments: "0" (Default), then the campaigns (with a row, or only named by runs), ids
/// 1, 2, ... by name, a campaign's config text as its note; returns campaign -> experiment id.
std::map<std::string, std::string> write_experiments(Database& db, const std::string& campaign,
                                                     const std::vector<RunInfoRow>& runs,
                                                     const fs::path& root,
                                                     const fs::path& final_root, int64_t now,
                                                     ExportSummary& summary) {
  write_experiment(root, final_root, "0", "Default", now, summary.files);
  std::map<std::string, std::pair<int64_t, std::string>> campaigns;  // name -> (created, text)
  {
    auto s = db.prepare(
        "SELECT name, created_ms, config_text, config_hash FROM campaigns "
        "WHERE ?1 = '' OR name = ?1");
    s.bind(1, campaign);
    while (s.step()) campaigns[s.column_text(0)] = {s.column_int64(1), s.column_text(2)};
  }
  for (const auto& r : runs)
    if (!campaigns.count(r.campaign)) campaigns[r.campaign] = {now, ""};
  std::map<std::string, std::string> experiment_of;
  int64_t next_id = 1;
  for (const auto& [name, facts] : campaigns) {
    const std::string id = std::to_string(next_id++);
    experiment_of[name] = id;
    write_experiment(root, final_root, id, name, facts.first, summary.files);
    if (!facts.second.empty())
      write_text(root / id / "tags" / "mlflow.note.content", facts.second, summary.files);
  }
  return experiment_of;
}

using KeyValues = std::vector<std::pair<std::string, std::string>>;

/// The labels of the runs of `campaign` ("" = all), read once: run -> [(task, label)].
std::map<std::string, KeyValues> read_labels(Database& db, const std::string& campaign) {
  std::map<std::string, KeyValues> labels;
  auto s = db.prepare(
      "SELECT l.run_uuid, l.task, l.label FROM labels AS l "
      "JOIN runs AS r ON r.run_uuid = l.run_uuid WHERE ?1 = '' OR r.campaign = ?1");
  s.bind(1, campaign);
  while (s.step()) labels[s.column_text(0)].emplace_back(s.column_text(1), s.column_text(2));
  return labels;
}

/// A run's meta.yaml, keys in MLflow's order.
void write_run_meta(const RunInfoRow& r, const fs::path& rd, const fs::path& artifact_dir,
                    const std::string& exp, const std::string& run_name, int64_t& files) {
  OutFile f(rd / "meta.yaml", files);
  f << "artifact_uri: " << yaml_string(file_uri(artifact_dir)) << '\n'
    << "end_time: " << yaml_time(r.end_time) << '\n'
    << "entry_point_name: ''\n"
    << "experiment_id: '" << exp << "'\n"
    << "lifecycle_stage: " << (r.lifecycle_stage.empty() ? "active" : r.lifecycle_stage) << '\n'
    << "run_id: " << r.run_uuid << '\n'
    << "run_name: " << yaml_string(run_name) << '\n'
    << "run_uuid: " << r.run_uuid << '\n'
    << "source_name: ''\n"
    << "source_type: 4\n"
    << "source_version: ''\n"
    << "start_time: " << yaml_time(r.start_time) << '\n'
    << "status: " << mlflow_status(r.status) << '\n'
    << "tags: []\n"
    << "user_id: dynfault\n";
  f.close();
}

/// One file per key under `dir` (params/ or tags/), named by key_path(); of two keys sanitised
/// alike, the first wins.
void write_key_files(const fs::path& dir, const KeyValues& values, int64_t& files) {
  std::set<fs::path> written;
  for (const auto& [k, v] : values) {
    const fs::path p = key_path(k);
    if (!written.insert(p).second) continue;
    write_text(dir / p, v, files);
  }
}

/// A run's tags: MLflow's name and user, dynfault's facts, and its labels as label.<task>.
KeyValues run_tags(const RunInfoRow& r, const std::string& run_name, const KeyValues& labels) {
  KeyValues tags = {
      {"mlflow.runName", run_name},
      {"mlflow.user", "dynfault"},
      {"dynfault.status", r.status},
      {"dynfault.outcome", r.outcome},
      {"dynfault.attempts", std::to_string(r.attempts)},
      {"dynfault.faults_json", r.faults_json},
  };
  if (!r.error.empty()) tags.emplace_back("dynfault.error", r.error);
  for (const auto& [task, label] : labels) tags.emplace_back("label." + task, label);
  return tags;
}

/// Every run's directory (meta.yaml, params/, tags/, empty metrics/ and artifacts/) under its
/// experiment; returns run -> directory.
std::map<std::string, fs::path> write_runs(Database& db, const std::string& campaign,
                                           const std::vector<RunInfoRow>& runs,
                                           const std::map<std::string, std::string>& experiment_of,
                                           const fs::path& root, const fs::path& final_root,
                                           ExportSummary& summary) {
  std::map<std::string, KeyValues> labels = read_labels(db, campaign);
  std::map<std::string, fs::path> run_dir;
  for (const auto& r : runs) {
    const std::string& exp = experiment_of.at(r.campaign);
    const fs::path rd = root / exp / r.run_uuid;
    run_dir[r.run_uuid] = rd;
    fs::create_directories(rd / "metrics");
    fs::create_directories(rd / "params");
    fs::create_directories(rd / "artifacts");
    const std::string run_name = r.program + "-" + (r.fault_ids.empty() ? "clean" : r.fault_ids) +
                                 "-r" + std::to_string(r.repetition);
    write_run_meta(r, rd, final_root / exp / r.run_uuid / "artifacts", exp, run_name,
                   summary.files);
    write_key_files(rd / "params", run_params(r), summary.files);
    write_key_files(rd / "tags", run_tags(r, run_name, labels[r.run_uuid]), summary.files);
  }
  return run_dir;
}

/// metrics/<key> of every run: "<timestamp> <value> <step>" lines, streamed in primary-key
/// order (each (run, key) series is contiguous).
void write_mlruns_metrics(Database& db, const std::string& campaign,
                          const std::map<std::string, fs::path>& run_dir, ExportSummary& summary) {
  auto s = db.prepare(
      "SELECT m.run_uuid, m.key_id, k.key, m.value, m.is_nan, m.step, m.timestamp "
      "FROM metrics AS m JOIN metric_keys AS k ON k.key_id = m.key_id "
      "JOIN runs AS r ON r.run_uuid = m.run_uuid WHERE ?1 = '' OR r.campaign = ?1 "
      "ORDER BY m.run_uuid, m.key_id, m.step");
  s.bind(1, campaign);
  std::string cur_run;
  int64_t cur_key = -1;
  std::unique_ptr<OutFile> file;
  while (s.step()) {
    const std::string uuid(s.column_view(0));
    const int64_t key_id = s.column_int64(1);
    if (!file || uuid != cur_run || key_id != cur_key) {
      if (file) file->close();
      cur_run = uuid;
      cur_key = key_id;
      const std::string key = s.column_text(2);
      const fs::path p = run_dir.at(uuid) / "metrics" / key_path(key);
      std::error_code ec;
      fs::create_directories(p.parent_path(), ec);
      if (ec || fs::exists(p))
        throw Error("export: metric key '" + key + "' of run " + uuid +
                    " cannot be a file in MLflow's layout (it clashes with another key's "
                    "directory or file)");
      file = std::make_unique<OutFile>(p, summary.files);
    }
    const bool nan = s.column_int64(4) != 0 || s.column_is_null(3);
    *file << s.column_int64(6) << ' '
          << format_double(nan ? std::nan("") : s.column_double(3), /*mlflow_style=*/true) << ' '
          << s.column_int64(5) << '\n';
    ++summary.metric_points;
  }
  if (file) file->close();
}

void export_mlruns(Database& db, const std::string& campaign, const std::vector<RunInfoRow>& runs,
                   const fs::path& dir, const fs::path& final_dir, ExportSummary& summary) {
  const fs::path root = dir / "mlruns";
  const fs::path final_root = final_dir / "mlruns";
  fs::create_directories(root / ".trash");
  const int64_t now = unix_ms();
  const auto experiment_of = write_experiments(db, campaign, runs, root, final_root, now, summary);
  const auto run_dir = write_runs(db, campaign, runs, experiment_of, root, final_root, summary);
  write_mlruns_metrics(db, campaign, run_dir, summary);
}

}  // namespace

std::string csv_field(const std::string& text) {
  const bool quote = text.find_first_of(",\"\r\n") != std::string::npos ||
                     (!text.empty() && (text.front() == ' ' || text.back() == ' '));
  if (!quote) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
  return out;
}

std::string format_double(double value, bool mlflow_style) {
  if (std::isnan(value)) return mlflow_style ? "nan" : "NaN";
  if (std::isinf(value)) {
    if (mlflow_style) return value > 0 ? "inf" : "-inf";
    return value > 0 ? "Inf" : "-Inf";
  }
  char buf[64];
  const auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

ExportSummary export_store(Store& store, const ExportOptions& o) {
  if (o.format != "csv" && o.format != "mlruns")
    throw Error("export: --format must be csv or mlruns, got '" + o.format + "'");
  Database& db = store.database();
  Transaction snapshot(db, Transaction::Mode::kDeferred);  // every file from one snapshot
  store.require_campaign(o.campaign);
  const auto runs = read_runs(db, o.campaign);
  // Written beside its final place and renamed into it at the end: a failure, Ctrl-C or
  // SIGTERM leaves nothing; after a SIGKILL, the next export of this target removes the rest.
  files::StagingDirectory target(o.out_dir, "export");
  ExportSummary summary;
  summary.runs = static_cast<int64_t>(runs.size());
  summary.removed_stale = target.removed_stale();
  try {
    if (o.format == "csv") {
      export_csv(db, o.campaign, runs, target.path(), summary);
    } else {
      export_mlruns(db, o.campaign, runs, target.path(), target.final_path(), summary);
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(std::string("export: ") + e.what() +
                (e.code().value() == ENOSPC || e.code().value() == EDQUOT ? " (disk full)" : ""));
  }
  target.commit();
  return summary;
}

}  // namespace dynfault::db
