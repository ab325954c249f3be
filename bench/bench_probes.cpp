// Cost of the runtime probes: trains fashion_mlp, lenet_fashion and lstm_sine with probes off,
// the default probes (runner/probe_options.h ProbeOptions{}) and all probes (every family every
// epoch, curvature included), repeated and interleaved (the order rotates every round, so a
// noisy neighbour hurts every configuration alike), and prints per program the median wall and
// CPU time of one trace (train + store in SQLite), the overhead ratios of those medians, and the
// paired overhead: the median (and quartiles) over rounds of each round's CPU-time ratio to
// probes off, which slow drift of a shared machine moves far less. Then writes default
// traces into a fresh database and reports bytes per trace (bench/corpus_size.sh measures a
// finished corpus). Every configuration must end with the same test loss as probes off
// (bitwise), or the benchmark stops: probes never change training.
//
//   bench_probes [--reps N] [--db-traces K] [--json PATH] [program ...]
//
// --reps 0 skips the timing, --db-traces 0 the storage measurement.
// --json writes the medians (seconds per trace) for bench/run_probes_bench.sh, which sets them
// against bench/python_baseline.py. Run with OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1.
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/hash.h"
#include "db/database.h"
#include "db/store.h"
#include "programs/registry.h"
#include "runner/trainer.h"

using namespace dynfault;

namespace {

constexpr int64_t kSeed = 1;

double wall_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Linear-interpolation quantile (numpy's default) of v; 0 for an empty vector.
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double pos = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(pos), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double median(const std::vector<double>& v) { return quantile(v, 0.5); }

struct Config {
  std::string name;
  bool probes;
  runner::ProbeOptions options;
};

/// A run row for `recipe`, so that its trace can be stored.
db::RunSpec spec_for(const programs::Recipe& recipe, const std::string& tag) {
  db::RunSpec s;
  s.run_uuid = hash128_hex(recipe.program + "/" + tag);
  s.campaign = "bench";
  s.program = recipe.program;
  s.family = recipe.family;
  s.task = recipe.task;
  s.faults_json = "[]";
  s.seed = kSeed;
  s.recipe_json = recipe.canonical();
  return s;
}

int64_t db_bytes(db::Store& store) {
  auto count = [&](const char* pragma) {
    auto& st = store.database().prepared(pragma);
    db::ResetGuard reset(st);
    st.step();
    return st.column_int64(0);
  };
  return count("PRAGMA page_count") * count("PRAGMA page_size");
}

struct Sample {
  double wall = 0, cpu = 0;
  size_t points = 0;
  double test_loss = 0;  // equal for every configuration: probes never change training
  // Curvature probes in the trace and, per probe, their wall time, the part spent in
  // Hessian-vector products and the number of products (0 without curvature); a training step
  // (forward, backward, optimizer step; probes excluded).
  double curv_probes = 0, curv_ms = 0, hvp_ms = 0, hvps = 0, step_ms = 0;
};

/// Sum and count of the values of `key` in `metrics`.
std::pair<double, double> sum_of(const std::vector<db::MetricPoint>& metrics,
                                 const std::string& key) {
  double sum = 0, count = 0;
  for (const auto& m : metrics)
    if (m.key == key) {
      sum += m.value;
      ++count;
    }
  return {sum, count};
}

/// Trains `recipe` under `config` and stores the trace; wall and CPU time of both.
Sample one_trace(db::Store& store, const programs::Recipe& recipe, const Config& config,
                 const std::string& tag) {
  runner::TrainOptions o;
  o.probes = config.probes;
  o.probe = config.options;
  const db::RunSpec spec = spec_for(recipe, tag);
  store.insert_runs({spec});
  const double w0 = wall_s(), c0 = cpu_s();
  db::RunResult r = runner::train(recipe, kSeed, o);
  r.run_uuid = spec.run_uuid;
  store.write_result(r);
  Sample s{wall_s() - w0, cpu_s() - c0, r.metrics.size(), 0};
  for (const auto& m : r.metrics)
    if (m.key == "final/test_loss") s.test_loss = m.value;
  const auto [curv_ms, probes] = sum_of(r.metrics, "time/curvature_ms");
  if (probes > 0) {
    s.curv_probes = probes;
    s.curv_ms = curv_ms / probes;
    s.hvp_ms = sum_of(r.metrics, "time/curvature_hvp_ms").first / probes;
    s.hvps = sum_of(r.metrics, "curv/iterations").first / probes +
             static_cast<double>(config.options.hutchinson_samples);
  }
  const auto [step_ms, steps] = sum_of(r.metrics, "time/step_ms");
  s.step_ms = steps > 0 ? step_ms / steps : 0;
  if (r.outcome != "completed") {
    std::cerr << recipe.program << " " << config.name << ": outcome " << r.outcome << " " << r.error
              << "\n";
    std::exit(1);
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int reps = 5;
  int db_traces = 4;
  std::vector<std::string> program_ids;
  std::string json_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--reps") {
      reps = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--db-traces") {
      db_traces = std::max(0, std::atoi(next().c_str()));
    } else if (a == "--json") {
      json_path = next();
    } else if (!a.empty() && a[0] != '-') {
      program_ids.push_back(a);
    } else {
      std::cerr << "usage: bench_probes [--reps N] [--db-traces K] [--json P] [program ...]\n";
      return 2;
    }
  }
  if (program_ids.empty()) program_ids = {"fashion_mlp", "lenet_fashion", "lstm_sine"};

  // "curv2": the defaults plus curvature every 2 epochs (and at the last), a cadence a
  // campaign may choose for curvature features at a fraction of the "all" cost.
  runner::ProbeOptions curv2;
  curv2.curvature = runner::Cadence::every_k_epochs(2);
  const std::vector<Config> configs = {{"off", false, runner::ProbeOptions::none()},
                                       {"default", true, runner::ProbeOptions{}},
                                       {"curv2", true, curv2},
                                       {"all", true, runner::ProbeOptions::all()}};
  const std::string tmp =
      (std::filesystem::temp_directory_path() / ("bench_probes_" + std::to_string(getpid())))
          .string();
  std::filesystem::create_directories(tmp);
  std::printf("default probes: %s\n", runner::ProbeOptions{}.to_json().c_str());
  std::printf("all probes:     %s\n", runner::ProbeOptions::all().to_json().c_str());
  std::printf("%d interleaved rounds per program; one trace = train + write to SQLite\n\n", reps);
  std::printf("%-14s %-8s %9s %9s %7s %13s %13s %21s\n", "program", "probes", "wall_s", "cpu_s",
              "points", "overhead_wall", "overhead_cpu", "paired_cpu [q1, q3]");

  programs::Json json = {{"programs", programs::Json::object()}};
  for (const auto& id : reps > 0 ? program_ids : std::vector<std::string>{}) {
    const programs::Recipe recipe = programs::program(id);
    db::Store store = db::Store::open(tmp + "/time_" + id + ".db");
    std::map<std::string, std::vector<double>> wall, cpu;
    std::map<std::string, size_t> points;
    std::vector<Sample> all;  // the "all" traces, for the cost of a curvature probe
    // Warm-up (page cache, allocator, lazy initialisation), and the reference test loss.
    const double test_loss = one_trace(store, recipe, configs[0], "warmup").test_loss;
    for (int rep = 0; rep < reps; ++rep) {
      for (size_t k = 0; k < configs.size(); ++k) {
        const Config& c = configs[(k + static_cast<size_t>(rep)) % configs.size()];
        const Sample s = one_trace(store, recipe, c, c.name + std::to_string(rep));
        wall[c.name].push_back(s.wall);
        cpu[c.name].push_back(s.cpu);
        points[c.name] = s.points;
        if (c.name == "all") all.push_back(s);
        if (s.test_loss != test_loss) {
          std::cerr << id << " " << c.name << ": final test loss " << s.test_loss
                    << " differs from " << test_loss << " without probes\n";
          return 1;
        }
      }
    }
    const double off_wall = median(wall["off"]), off_cpu = median(cpu["off"]);
    for (size_t k = 0; k < configs.size(); ++k) {
      const std::string& n = configs[k].name;
      const double w = median(wall[n]), c = median(cpu[n]);
      // Paired: the CPU-time ratio to probes off within each round (the two traces ran minutes
      // apart at most, so slow drift of a shared machine cancels), median and quartiles over
      // the rounds.
      std::vector<double> paired;
      for (size_t r = 0; r < cpu[n].size(); ++r) paired.push_back(cpu[n][r] / cpu["off"][r] - 1);
      const double p50 = median(paired), p25 = quantile(paired, 0.25), p75 = quantile(paired, 0.75);
      std::printf("%-14s %-8s %9.3f %9.3f %7zu %+12.1f%% %+12.1f%% %+6.1f%% [%+.1f, %+.1f]\n",
                  id.c_str(), n.c_str(), w, c, points[n], 100 * (w / off_wall - 1),
                  100 * (c / off_cpu - 1), 100 * p50, 100 * p25, 100 * p75);
      json["programs"][id][n] = {{"wall_s", w},          {"cpu_s", c},
                                 {"points", points[n]},  {"paired_cpu_overhead", p50},
                                 {"paired_cpu_q1", p25}, {"paired_cpu_q3", p75}};
    }
    // One curvature probe of "all" against one training step, medians over the rounds: where
    // its cost goes (the gradient with graph on the curvature batch, then the products).
    const auto med = [&](double Sample::*f) {
      std::vector<double> v;
      for (const Sample& s : all) v.push_back(s.*f);
      return median(v);
    };
    if (!all.empty() && med(&Sample::curv_probes) > 0) {
      const double probe = med(&Sample::curv_ms), in_hvps = med(&Sample::hvp_ms),
                   hvps = med(&Sample::hvps), step = med(&Sample::step_ms);
      std::vector<double> outside;  // per trace, so that the parts add up
      for (const Sample& s : all) outside.push_back(s.curv_ms - s.hvp_ms);
      const double per_hvp = in_hvps / hvps, rest = median(outside);
      std::printf(
          "%-14s curvature probe (all): %.0f per trace, %.1f ms each: %.1f ms forward, "
          "gradient with graph and vector work + %.2f products x %.1f ms. A training "
          "step is %.2f ms: a probe costs %.1f steps, a product %.1f\n",
          id.c_str(), med(&Sample::curv_probes), probe, rest, hvps, per_hvp, step, probe / step,
          per_hvp / step);
      json["programs"][id]["curvature_probe"] = {{"per_trace", med(&Sample::curv_probes)},
                                                 {"ms", probe},
                                                 {"hvps", hvps},
                                                 {"hvp_ms", per_hvp},
                                                 {"step_ms", step}};
    }
    std::fflush(stdout);
  }

  // Bytes per trace at the default cadence: a fresh database, db_traces traces per program.
  if (db_traces == 0) {
    if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";
    std::filesystem::remove_all(tmp);
    return 0;
  }
  std::printf("\nstorage at the default cadence (%d traces per program, fresh database):\n",
              db_traces);
  db::Store store = db::Store::open(tmp + "/size.db");
  const int64_t empty = db_bytes(store);
  int64_t traces = 0;
  for (const auto& id : program_ids) {
    const programs::Recipe recipe = programs::program(id);
    const int64_t before = db_bytes(store);
    for (int t = 0; t < db_traces; ++t)
      one_trace(store, recipe, configs[1], "size" + std::to_string(t));
    const double per = static_cast<double>(db_bytes(store) - before) / db_traces;
    std::printf("  %-14s %9.0f bytes per trace\n", id.c_str(), per);
    traces += db_traces;
  }
  const double per_trace =
      static_cast<double>(db_bytes(store) - empty) / static_cast<double>(traces);
  // Not projected to the corpus: these are short traces (3-5 epochs) at the default cadence,
  // while the paper-scale campaign records up to 50 points per family; bench/corpus_size.sh
  // measures a finished corpus.
  std::printf(
      "  %-14s %9.0f bytes per trace (these programs only; a whole corpus: "
      "bench/corpus_size.sh DB)\n",
      "mean", per_trace);
  json["bytes_per_trace"] = per_trace;
  if (!json_path.empty()) std::ofstream(json_path) << json.dump(2) << "\n";
  std::filesystem::remove_all(tmp);
  return 0;
}
