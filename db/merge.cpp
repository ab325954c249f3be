#include "db/merge.h"

#include <sqlite3.h>

#include <filesystem>
#include <map>
#include <utility>

#include "db/database.h"
#include "db/schema.h"

namespace dynfault::db {

namespace {

namespace fs = std::filesystem;

/// Orders statuses by how far a run got; a merge keeps the most advanced row of a run.
std::string rank_of(const std::string& column) {
  return "CASE " + column +
         " WHEN 'FINISHED' THEN 4 WHEN 'FAILED' THEN 3 WHEN 'KILLED' THEN 2 "
         "WHEN 'RUNNING' THEN 1 ELSE 0 END";
}

/// What makes two campaign rows the same campaign: the config hash and, once recorded, the
/// numeric environment its runs compute in (schema 2; "" = not recorded).
struct CampaignIdentity {
  std::string hash;
  std::string numeric;
};

/// name -> identity of every campaign in `db` (schema `schema_name`).
std::map<std::string, CampaignIdentity> campaign_hashes(Database& db,
                                                        const std::string& schema_name) {
  std::map<std::string, CampaignIdentity> out;
  auto select =
      db.prepare("SELECT name, config_hash, numeric_json FROM " + schema_name + ".campaigns");
  while (select.step()) out[select.column_text(0)] = {select.column_text(1), select.column_text(2)};
  return out;
}

/// Throws unless `path` is a sound dynfault database of this schema version; returns its
/// campaigns. Opens the file read-only, so a refused source is never touched.
std::map<std::string, CampaignIdentity> check_source(const std::string& path) {
  require_regular_or_missing(path);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    throw DbError(path + ": no such database file; refusing to merge");
  }
  SchemaState state;
  std::unique_ptr<Database> source;
  try {
    source = open_reader(path);
    state = inspect(*source);
  } catch (const DbError& e) {
    throw DbError(std::string(e.what()) + "; refusing to merge it", e.code());
  }
  if (!state.dynfault) throw DbError(path + ": not a dynfault database; refusing to merge it");
  if (state.user_version != kSchemaVersion) {
    throw DbError(path + ": schema version " + std::to_string(state.user_version) +
                  ", this build writes version " + std::to_string(kSchemaVersion) +
                  "; refusing to merge it (" +
                  (state.user_version < kSchemaVersion
                       ? "open it once with this build to migrate it)"
                       : "merge with the newer dynfault that wrote it)"));
  }
  require_integrity(*source, "refusing to merge it");
  return campaign_hashes(*source, "main");
}

/// Throws when a campaign name in `incoming` is already known with a different config hash, or
/// with another recorded numeric environment (its traces would differ by shard, not by fault).
void check_campaigns(const std::map<std::string, CampaignIdentity>& known,
                     const std::map<std::string, CampaignIdentity>& incoming,
                     const std::string& known_where, const std::string& incoming_path) {
  for (const auto& [name, id] : incoming) {
    auto it = known.find(name);
    if (it == known.end()) continue;
    if (it->second.hash != id.hash) {
      throw DbError(incoming_path + ": campaign '" + name + "' has config hash " + id.hash +
                    ", but " + known_where + " holds a different campaign of that name (hash " +
                    it->second.hash + "); refusing to merge databases of different campaigns");
    }
    if (!id.numeric.empty() && !it->second.numeric.empty() && id.numeric != it->second.numeric) {
      throw DbError(incoming_path + ": campaign '" + name +
                    "' computes in the numeric environment " + id.numeric + ", but " + known_where +
                    " records " + it->second.numeric +
                    " for it; refusing to merge traces of different numeric environments");
    }
  }
}

/// The ATTACH argument for reading `path` only: a read-only URI where this SQLite build takes
/// URIs, else the plain path (the merge only ever reads the attached file).
std::string read_only_name(const std::string& path) {
  if (!sqlite3_compileoption_used("SQLITE_USE_URI")) return path;
  std::string uri = "file:";
  for (char c : fs::absolute(path).string()) {
    if (c == '%' || c == '?' || c == '#') {
      static const char* kHex = "0123456789ABCDEF";
      uri += '%';
      uri += kHex[(static_cast<unsigned char>(c) >> 4) & 15];
      uri += kHex[static_cast<unsigned char>(c) & 15];
    } else {
      uri += c;
    }
  }
  return uri + "?mode=ro";
}

int64_t count(Database& db, const std::string& sql) {
  auto select = db.prepare(sql);
  const int64_t n = select.step() ? select.column_int64(0) : 0;
  select.reset();
  return n;
}

MergeSourceReport merge_one(Database& db, const std::string& path) {
  MergeSourceReport report;
  report.path = path;
  {
    auto attach = db.prepare("ATTACH DATABASE ?1 AS src");
    attach.bind(1, read_only_name(path));
    attach.step();
  }
  // DETACH cannot run inside a transaction; the guard runs after the transaction has ended.
  struct Detach {
    Database& db;
    ~Detach() {
      try {
        db.exec("DETACH DATABASE src");
      } catch (...) {  // never throw from a destructor; closing the connection detaches anyway
      }
    }
  } detach{db};

  Transaction tx(db);
  // Checked again under the write lock: the target may have changed since the first look.
  const auto target_campaigns = campaign_hashes(db, "main");
  const auto source_campaigns = campaign_hashes(db, "src");
  check_campaigns(target_campaigns, source_campaigns, db.path(), path);
  for (const auto& [name, hash] : source_campaigns)
    if (!target_campaigns.count(name)) report.campaigns_added.push_back(name);
  db.exec(
      "INSERT INTO main.campaigns (name, config_text, config_hash, created_ms, numeric_json, "
      "libraries_json) SELECT name, config_text, config_hash, created_ms, numeric_json, "
      "libraries_json FROM src.campaigns WHERE true "
      "ON CONFLICT (name) DO UPDATE SET "
      "numeric_json = coalesce(main.campaigns.numeric_json, excluded.numeric_json), "
      "libraries_json = coalesce(main.campaigns.libraries_json, excluded.libraries_json);"
      "INSERT INTO main.programs (program_id, family, task, dataset, source, changes, metric, "
      "satisfactory) SELECT program_id, family, task, dataset, source, changes, metric, "
      "satisfactory FROM src.programs WHERE true ON CONFLICT (program_id) DO NOTHING;"
      "INSERT INTO main.metric_keys (key) SELECT key FROM src.metric_keys WHERE true "
      "ON CONFLICT (key) DO NOTHING;"
      "CREATE TEMP TABLE IF NOT EXISTS merge_runs (run_uuid TEXT PRIMARY KEY, is_new INTEGER) "
      "WITHOUT ROWID;"
      "DELETE FROM temp.merge_runs;");
  db.exec(
      "INSERT INTO temp.merge_runs (run_uuid, is_new) "
      "SELECT s.run_uuid, t.run_uuid IS NULL FROM src.runs AS s "
      "LEFT JOIN main.runs AS t ON t.run_uuid = s.run_uuid "
      "WHERE t.run_uuid IS NULL OR " +
      rank_of("s.status") + " > " + rank_of("t.status"));
  report.runs_new = count(db, "SELECT count(*) FROM temp.merge_runs WHERE is_new");
  report.runs_replaced = count(db, "SELECT count(*) FROM temp.merge_runs WHERE NOT is_new");
  report.runs_kept =
      count(db, "SELECT count(*) FROM src.runs") - report.runs_new - report.runs_replaced;
  // A replaced run's old metrics and labels go; the source's come with it.
  db.exec(
      "DELETE FROM main.metrics WHERE run_uuid IN (SELECT run_uuid FROM temp.merge_runs);"
      "DELETE FROM main.labels WHERE run_uuid IN (SELECT run_uuid FROM temp.merge_runs);"
      "INSERT INTO main.runs (run_uuid, campaign, program_id, family, task, faults_json, "
      "fault_ids, seed, repetition, recipe_json, timeout_s, status, outcome, error, start_time, "
      "end_time, heartbeat_time, attempts, lifecycle_stage, exec_max_steps, exec_probes, "
      "exec_numeric, exec_libraries, exec_cpu, exec_build) "
      "SELECT run_uuid, campaign, program_id, family, task, faults_json, fault_ids, seed, "
      "repetition, recipe_json, timeout_s, status, outcome, error, start_time, end_time, "
      "heartbeat_time, attempts, lifecycle_stage, exec_max_steps, exec_probes, exec_numeric, "
      "exec_libraries, exec_cpu, exec_build FROM src.runs "
      "WHERE run_uuid IN (SELECT run_uuid FROM temp.merge_runs) "
      "ON CONFLICT (run_uuid) DO UPDATE SET status = excluded.status, "
      "outcome = excluded.outcome, error = excluded.error, start_time = excluded.start_time, "
      "end_time = excluded.end_time, heartbeat_time = excluded.heartbeat_time, "
      "attempts = excluded.attempts, lifecycle_stage = excluded.lifecycle_stage, "
      "exec_max_steps = excluded.exec_max_steps, exec_probes = excluded.exec_probes, "
      "exec_numeric = excluded.exec_numeric, exec_libraries = excluded.exec_libraries, "
      "exec_cpu = excluded.exec_cpu, exec_build = excluded.exec_build");
  // Metric key ids differ between files: map them through the key text.
  db.exec(
      "INSERT INTO main.metrics (run_uuid, key_id, step, value, timestamp, is_nan) "
      "SELECT m.run_uuid, tk.key_id, m.step, m.value, m.timestamp, m.is_nan "
      "FROM temp.merge_runs AS r "
      "JOIN src.metrics AS m ON m.run_uuid = r.run_uuid "
      "JOIN src.metric_keys AS sk ON sk.key_id = m.key_id "
      "JOIN main.metric_keys AS tk ON tk.key = sk.key");
  report.metric_points = db.last_changes();
  db.exec(
      "INSERT INTO main.labels (run_uuid, task, label, details) "
      "SELECT run_uuid, task, label, details FROM src.labels "
      "WHERE run_uuid IN (SELECT run_uuid FROM temp.merge_runs)");
  report.labels = db.last_changes();
  db.exec("DELETE FROM temp.merge_runs");
  tx.commit();
  return report;
}

}  // namespace

MergeReport merge_databases(Store& target, const std::vector<std::string>& sources) {
  Database& db = target.database();
  // Every source is checked before the first write.
  std::map<std::string, CampaignIdentity> known = campaign_hashes(db, "main");
  std::map<std::string, std::string> known_from;  // campaign -> where it was first seen
  for (const auto& [name, id] : known) known_from[name] = target.path();
  for (const auto& path : sources) {
    std::error_code ec;
    if (fs::equivalent(path, target.path(), ec)) {
      throw DbError(path +
                    ": is the merge target itself; refusing to merge a database into "
                    "itself");
    }
    const auto campaigns = check_source(path);
    for (const auto& [name, id] : campaigns) {
      auto it = known.find(name);
      if (it != known.end()) {
        check_campaigns({{name, it->second}}, {{name, id}}, known_from[name], path);
        if (it->second.numeric.empty()) it->second.numeric = id.numeric;
      } else {
        known.emplace(name, id);
        known_from.emplace(name, path);
      }
    }
  }
  MergeReport report;
  for (const auto& path : sources) report.sources.push_back(merge_one(db, path));
  return report;
}

}  // namespace dynfault::db
