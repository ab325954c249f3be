// Times the full evaluation on a synthetic corpus of the paper's size: 5,542 traces from 38
// programs, 4 fault classes plus clean runs, each mutant configuration repeated so that the
// killing test applies. Every trace carries the probe keys of db/trace.h, with program-specific
// offsets (scale of the loss, gradient and weight norms, layer count, activation levels), so that
// program identity leaks into level features as it does in real corpora. Strong faults trip
// DeepFD's monitors as they do in real traces (dying ReLU, vanishing and exploding gradients,
// stalled accuracy, frozen layers, a generalisation gap), so that about as many `deepfd` columns
// are constant as in a real campaign: the learners' costs depend on it (zero columns are cheap).
// As in the real catalogue, 15 programs share one data set, two groups of 3 and one of 2 share
// others, and 15 have their own (19 data sets); each class is injected by three operators, one
// per strength, so that every rung of the protocol ladder has something to hold out.
//
//   bench_evaluation [--db PATH] [--threads N] [--bootstrap B] [--heldout-folds K]
//                    [--diagnosers a,b,...] [--sets a,b,...] [--tasks a,b,...]
//                    [--protocols random,config,...] [--learner-seeds N] [--bins N]
//                    [--report REPORT.html]
//
// Prints the wall time of each stage; the evaluation line is the figure of interest.
#include <unistd.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/hash.h"
#include "common/memory.h"
#include "common/version.h"
#include "db/store.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/evaluation.h"
#include "diagnosis/report.h"
#include "diagnosis/splits.h"
#include "features/feature_set.h"
#include "features/labels.h"

using namespace dynfault;

namespace {

constexpr int kPrograms = 38;
constexpr int kTraces = 5542;

struct Rng {
  diagnosis::SplitMix64 g;
  explicit Rng(uint64_t seed) : g(seed) {}
  double uniform() { return (static_cast<double>(g.next() >> 11) + 0.5) / 9007199254740992.0; }
  double normal() {
    return std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  }
};

struct Fault {
  const char* mutator;
  const char* category;
  double strength;  // 0 = mild (rarely effective) .. 1 = strong
};

// One operator per (class, strength): holding an operator out leaves its class in training.
constexpr Fault kFaults[] = {
    {"lr_scale", "learning_rate", 0.2},
    {"lr_set", "learning_rate", 0.6},
    {"lr_decay_set", "learning_rate", 1.0},
    {"adam_eps_set", "optimizer", 0.2},
    {"optimizer_momentum_set", "optimizer", 0.6},
    {"optimizer_change", "optimizer", 1.0},
    {"loss_nll_on_logits", "loss", 0.2},
    {"loss_mse_on_logits", "loss", 0.6},
    {"loss_change", "loss", 1.0},
    {"activation_add", "activation", 0.2},
    {"activation_remove", "activation", 0.6},
    {"activation_change", "activation", 1.0},
};

// The data set of program p, grouped as the catalogue's (dynfault list programs).
std::string dataset_of(int p) {
  if (p < 15) return "fashion_mnist";
  if (p < 18) return "digits";
  if (p < 21) return "imdb_tokens";
  if (p < 23) return "iris";
  return "own_" + std::to_string(p);
}
constexpr int kConfigs = sizeof(kFaults) / sizeof(kFaults[0]);

// One synthetic run: curves and probe statistics shaped by the fault class and the program.
db::RunResult make_run(const std::string& run_uuid, int program, const Fault* fault, Rng& rng,
                       int64_t& n_points) {
  db::RunResult r;
  r.run_uuid = run_uuid;
  r.start_time = 1;
  r.end_time = 2;
  const double scale = 0.5 + 0.15 * (program % 9);  // loss level of the program
  const double gscale = std::pow(10.0, -2 + 0.1 * (program % 13));
  const double wscale = 0.5 + 0.1 * (program % 7);
  const int layers = 2 + program % 4;
  const int epochs = 8 + program % 5;
  const double lr0 = std::pow(10.0, -3 + 0.25 * (program % 5));
  const std::string cat = fault ? fault->category : "";
  const double s = fault ? fault->strength : 0.0;
  const bool lr = cat == "learning_rate", opt = cat == "optimizer", loss = cat == "loss",
             act = cat == "activation";
  const bool blows_up = lr && s >= 1.0 && rng.uniform() < 0.4;
  // A stalled run (strong optimizer fault): accuracy flat near chance, the first layer frozen.
  const bool stalled = opt && s >= 1.0 && rng.uniform() < 0.5;
  // A strong activation fault kills most units of the first layer in some runs.
  const bool dying = act && s >= 0.6 && rng.uniform() < 0.6;
  const double chance = 0.1 + 0.02 * (program % 5);
  const double stalled_mean = 0.01 * rng.normal(), stalled_std = wscale * 0.1;
  // Accuracy loss grows with the cube of the strength: mild faults are rarely killed.
  const double s3 = s * s * s;
  const double acc_cap = 0.9 - 0.02 * (program % 6) - (loss ? 0.25 * s3 : 0) -
                         (act ? 0.2 * s3 : 0) - (opt ? 0.15 * s3 : 0) - (lr ? 0.1 * s3 : 0);
  auto add = [&](const std::string& key, int64_t step, double v) {
    r.metrics.push_back(db::MetricPoint{key, step, v, 0});
  };
  double l = scale * (loss ? 1 + s : 1.0);
  int last = epochs - 1;
  for (int e = 0; e < epochs; ++e) {
    // A run whose loss turns non-finite stops at that step, as the runner stops it (nan_loss):
    // its partial epoch is recorded, then nothing more (what a horizon cut must place in time).
    const bool dies = blows_up && e == epochs / 2;
    const double progress = static_cast<double>(e + 1) / epochs;
    const double osc = lr ? 0.3 * s * std::sin(3.0 * e) : 0.0;
    const double speed = opt ? 0.5 - 0.3 * s : 0.5;
    l = std::max(0.02, l * (1 - speed * 0.3) + osc * scale * 0.3 + 0.01 * rng.normal());
    double a = acc_cap * (1 - std::exp(-3 * progress * (opt ? 1 - 0.6 * s : 1))) +
               0.01 * rng.normal() + (lr ? 0.1 * s * std::sin(2.5 * e) : 0);
    if (stalled) a = chance + 0.002 * rng.normal();
    if (blows_up && e >= epochs / 2) {
      l = NAN;
      a = NAN;
    }
    add("epoch/train_loss", e, l);
    add("epoch/val_loss", e, l * (1.1 + 0.05 * rng.normal()));
    add("epoch/train_metric", e, a);
    add("epoch/val_metric", e, a - 0.03 - (loss ? 0.12 * s : 0) - 0.02 * std::fabs(rng.normal()));
    add("epoch/lr", e, lr0 * (lr ? std::pow(10.0, 2 * s) : 1.0));
    add("train/loss", 2 * e, l * 1.05);
    if (!dies) add("train/loss", 2 * e + 1, l * 0.97);
    double global = 0, g_first = 0, g_last = 0;
    // Share of exactly-zero gradient entries: dead units under a dying activation fault.
    const double zero_frac = dying ? std::min(1.0, 0.55 + 0.35 * s + 0.05 * rng.normal())
                                   : (act ? 0.4 * s : 0.01) + 0.01 * std::fabs(rng.normal());
    for (int p = 0; p < layers; ++p) {
      const std::string name = "layers." + std::to_string(2 * p) + ".weight";
      // Depth scaling: gradients vanish towards the input under a strong activation fault and
      // explode there under a strong learning-rate fault.
      const double depth = static_cast<double>(layers - 1 - p) / std::max(1, layers - 1);
      const double g = gscale * (1 + p) * (lr ? 1 + 5 * s : 1) * (act ? 0.1 + 0.9 * (1 - s) : 1) *
                       std::pow(10.0, depth * ((dying ? -3.0 * s : 0) + (lr ? 2.5 * s * s : 0))) *
                       std::exp(0.2 * rng.normal());
      global += g * g;
      if (p == 0) g_first = g;
      g_last = g;
      const bool frozen = p == 0 && (stalled || (dying && s >= 1.0));
      add("grad/" + name + "/norm", e, g);
      add("grad/" + name + "/mean_abs", e, g / 30);
      add("grad/" + name + "/max_abs", e, g * 3);
      add("grad/" + name + "/zero_frac", e, zero_frac);
      add("grad/" + name + "/nonfinite", e, blows_up && e >= epochs / 2 ? 1 : 0);
      add("weight/" + name + "/norm", e, wscale * (3 + p) * (frozen ? 1 : 1 + 0.02 * e));
      add("weight/" + name + "/mean", e, frozen ? stalled_mean : 0.01 * rng.normal());
      add("weight/" + name + "/std", e, frozen ? stalled_std : wscale * 0.1 * (1 + 0.01 * e));
      add("weight/" + name + "/max_abs", e, wscale * (lr ? 1 + 10 * s : 1));
      add("weight/" + name + "/update_ratio", e,
          std::pow(10.0, -3 + (lr ? 2 * s : 0) - (opt ? s : 0) + 0.1 * rng.normal()));
      if (p + 1 < layers) {
        const std::string a_name = "layers." + std::to_string(2 * p + 1);
        add("act/" + a_name + "/mean", e, 0.3 * wscale + (act ? 0.5 * s : 0));
        add("act/" + a_name + "/std", e, 0.5 * wscale * (act ? 1 - 0.7 * s : 1) / (1 + p));
        add("act/" + a_name + "/dead_frac", e, act ? 0.3 + 0.6 * s : 0.1 + 0.02 * rng.normal());
        add("act/" + a_name + "/sat_frac", e, act ? 0.5 * s : 0.0);
      }
    }
    add("grad/global_norm", e, std::sqrt(global));
    add("grad/nonfinite", e, blows_up && e >= epochs / 2 ? 1 : 0);
    add("grad/first_last_ratio", e, g_first / g_last);
    add("grad/zero_frac", e, zero_frac);
    add("weight/nonfinite", e, blows_up && e >= epochs / 2 + 1 ? 1 : 0);
    add("weight/max_abs", e, wscale * (lr ? 1 + 10 * s : 1));
    add("weight/mean", e, 0.001 * e);
    add("weight/std", e, wscale * 0.1);
    add("weight/update_ratio", e,
        std::pow(10.0, -3 + (lr ? 2 * s : 0) - (opt ? s : 0) + 0.1 * rng.normal()));
    add("act/dead_frac_max", e, act ? 0.3 + 0.6 * s : 0.12);
    add("act/sat_frac_max", e, act ? 0.5 * s : 0.0);
    add("act/mean_abs_max", e, 0.3 * wscale + (act ? 0.5 * s : 0));
    add("act/std_mean", e, 0.5 * wscale);
    if (opt && s > 0.5) {
      add("opt/momentum_norm", e, gscale * 10);
    } else {
      add("opt/exp_avg_norm", e, gscale * (1 + 0.1 * rng.normal()));
      add("opt/exp_avg_sq_norm", e, gscale * gscale);
      add("opt/eff_step_mean", e, lr0 * 0.1);
    }
    const double lambda =
        (10 + 5 * (program % 8)) * (lr ? 1 + s : 1) * std::exp(0.1 * rng.normal());
    add("curv/lambda_max", e, lambda);
    add("curv/trace", e, lambda * (5 + program % 3));
    add("curv/lr_lambda", e, lambda * lr0 * (lr ? std::pow(10.0, 2 * s) : 1.0));
    if (dies) {
      last = e;
      break;
    }
  }
  const double final_acc = blows_up ? NAN : acc_cap - 0.02 + 0.015 * rng.normal();
  add("final/test_metric", last, final_acc);
  r.outcome = blows_up ? "nan_loss" : "completed";
  n_points += static_cast<int64_t>(r.metrics.size());
  return r;
}

void build_corpus(db::Store& store) {
  Rng rng(42);
  int64_t points = 0;
  int next = 0;
  for (int p = 0; p < kPrograms; ++p) {
    const int n = kTraces / kPrograms + (p < kTraces % kPrograms ? 1 : 0);
    const std::string program = "prog" + std::to_string(p);
    std::vector<db::RunSpec> specs;
    std::vector<const Fault*> faults;
    for (int i = 0; i < n; ++i) {
      // 10 clean runs, then the 12 mutant configurations dealt round-robin (11-12 repetitions).
      const Fault* f = i < 10 ? nullptr : &kFaults[(i - 10) % kConfigs];
      db::RunSpec s;
      s.campaign = "bench";
      s.program = program;
      s.family = p % 3 == 0 ? "cnn" : (p % 3 == 1 ? "mlp" : "rnn");
      s.task = "multiclass";
      // As a campaign seeds them: repetition k of every configuration, clean or not, has seed k,
      // so the killing test pairs mutant and clean runs by seed.
      const int repetition = i < 10 ? i : (i - 10) / kConfigs;
      s.seed = repetition;
      s.repetition = repetition;
      s.recipe_json = R"({"data":{"name":")" + dataset_of(p) + R"("},"epochs":)" +
                      std::to_string(8 + p % 5) + R"(,"layers":[{"type":"linear","out":10}]})";
      if (f) {
        std::ostringstream j;
        j << R"([{"category":")" << f->category << R"(","mutator":")" << f->mutator
          << R"(","params":{"strength":)" << f->strength << "}}]";
        s.faults_json = j.str();
        s.fault_ids = f->mutator;
      } else {
        s.faults_json = "[]";
      }
      s.run_uuid = hash128_hex("bench/" + std::to_string(next++));
      specs.push_back(s);
      faults.push_back(f);
    }
    store.insert_runs(specs);
    for (size_t i = 0; i < specs.size(); ++i)
      store.write_result(make_run(specs[i].run_uuid, p, faults[i], rng, points));
  }
  std::cout << "corpus: " << kTraces << " traces, " << kPrograms << " programs, " << points
            << " metric points\n";
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// CPU seconds of the fits (thread time, summed over folds, learner seeds and tasks) per
// diagnoser, per feature set and per rung.
void print_fit_breakdown(const diagnosis::EvaluationReport& report,
                         const std::vector<std::string>& rungs) {
  std::map<std::string, std::vector<double>> by_diagnoser, by_set, by_rung;
  double fit_total = 0;
  for (const auto& t : report.tasks)
    for (const auto& r : t.results)
      for (size_t k = 0; k < r.fit_seconds.size(); ++k) {
        by_diagnoser[r.diagnoser].push_back(r.fit_seconds[k]);
        by_set[r.feature_set].push_back(r.fit_seconds[k]);
        by_rung[rungs[k]].push_back(r.fit_seconds[k]);
        fit_total += r.fit_seconds[k];
      }
  std::printf("fit cpu total:     %7.1f s (every rung, all tasks)\n", fit_total);
  for (const auto* table : {&by_diagnoser, &by_set, &by_rung}) {
    const char* kind = table == &by_diagnoser ? "diagnoser" : (table == &by_set ? "set" : "rung");
    for (const auto& [name, sec] : *table) {
      double sum = 0;
      for (double s : sec) sum += s;
      std::printf("  %-9s %-22s %7.1f s\n", kind, name.c_str(), sum);
    }
  }
}

}  // namespace

int main(int argc, char** argv) try {
  keep_freed_heap_memory();  // as the dynfault command does
  std::string db_path, report_path, diagnosers,
      sets = "deepfd,curves,default,curvature,optimizer,activation",
      tasks = "fault_type/default4,instability,mismatch,detection,effective",
      protocols = "random,program", horizons = "1";
  int threads = 2, heldout_folds = 0, learner_seeds = 1, bins = 255;
  int64_t bootstrap = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--db")
      db_path = value;
    else if (flag == "--threads")
      threads = std::stoi(value);
    else if (flag == "--bootstrap")
      bootstrap = std::stoll(value);
    else if (flag == "--heldout-folds")
      heldout_folds = std::stoi(value);
    else if (flag == "--diagnosers")
      diagnosers = value;
    else if (flag == "--sets")
      sets = value;
    else if (flag == "--report")
      report_path = value;
    else if (flag == "--tasks")
      tasks = value;
    else if (flag == "--protocols")
      protocols = value;
    else if (flag == "--learner-seeds")
      learner_seeds = std::stoi(value);
    else if (flag == "--bins")
      bins = std::stoi(value);
    else if (flag == "--horizons")
      horizons = value;
    else
      throw Error("unknown flag '" + flag + "'");
  }
  const bool temporary = db_path.empty();
  if (temporary)
    db_path = (std::filesystem::temp_directory_path() /
               ("dynfault_bench_" + std::to_string(::getpid()) + ".db"))
                  .string();
  const bool exists = std::filesystem::exists(db_path);
  db::Store store = db::Store::open(db_path, /*create=*/true);
  const std::string src = DYNFAULT_SOURCE_DIR;
  if (!exists) {
    store.upsert_campaign("bench", "synthetic benchmark corpus (bench/bench_evaluation.cpp)", "");
    store.set_info("tool_version", kVersion);
    auto t0 = std::chrono::steady_clock::now();
    build_corpus(store);
    std::printf("write corpus:      %7.1f s\n", seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    features::derive_labels(store, features::LabelOptions()
                                       .taxonomies_path(src + "/configs/taxonomies.yaml")
                                       .thresholds_path(src + "/configs/thresholds.yaml"));
    std::printf("labels:            %7.1f s\n", seconds_since(t0));
    t0 = std::chrono::steady_clock::now();
    features::extract_features(store, features::ExtractOptions()
                                          .feature_sets({"deepfd", "curves", "default", "curvature",
                                                         "optimizer", "activation", "config"})
                                          .threads(threads));
    std::printf("features:          %7.1f s\n", seconds_since(t0));
  }
  // Features at every horizon short of the whole run (the whole run's tables are the ones above,
  // or the database's own): timed together, as `dynfault features --horizon H` would run them.
  if (horizons != "1") {
    const auto t0 = std::chrono::steady_clock::now();
    for (const auto& h : split(horizons)) {
      const features::Horizon horizon = features::Horizon::parse(h);
      if (horizon.is_full()) continue;
      const auto t1 = std::chrono::steady_clock::now();
      const auto r = features::extract_features(
          store, features::ExtractOptions()
                     .feature_sets({"deepfd", "curves", "default", "curvature", "optimizer",
                                    "activation", "config"})
                     .horizon(horizon)
                     .thresholds_path(src + "/configs/thresholds.yaml")
                     .threads(threads));
      std::printf("features at %-6s %7.1f s (%lld of %lld traces still training", h.c_str(),
                  seconds_since(t1), static_cast<long long>(r.alive),
                  static_cast<long long>(r.traces));
      for (const auto& [cls, n] : r.ahead)
        std::printf(", %s %lld", cls.empty() ? "(excluded)" : cls.c_str(),
                    static_cast<long long>(n));
      std::printf(")\n");
    }
    std::printf("features, horizons %s: %.1f s wall\n", horizons.c_str(), seconds_since(t0));
  }
  std::vector<std::string> ds = split(diagnosers);
  if (ds.empty()) ds = diagnosis::diagnoser_names();
  const auto options = diagnosis::EvaluateOptions()
                           .tasks(split(tasks))
                           .feature_sets(split(sets))
                           .diagnosers(ds)
                           .protocols(split(protocols))
                           .horizons(split(horizons))
                           .heldout_folds(heldout_folds)
                           .bootstrap(bootstrap)
                           .learner_seeds(learner_seeds)
                           .max_bins(bins)
                           .taxonomies_path(src + "/configs/taxonomies.yaml")
                           .thresholds_path(src + "/configs/thresholds.yaml")
                           .threads(threads);
  const auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  const auto report = diagnosis::evaluate(store, options);
  const double wall = seconds_since(t0);
  // Process CPU time over all threads: comparable across runs on a machine shared with others.
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::cout << diagnosis::format_table(report) << '\n';
  size_t cells = 0;
  for (const auto& t : report.tasks) cells += t.results.size();
  std::printf(
      "evaluation:        %7.1f s wall, %.1f s cpu (%zu tasks, %zu result rows incl. label_rule, "
      "rungs %s, %d threads, %lld resamples, %d learner seeds, %d bins, group rungs %s)\n",
      wall, cpu, report.tasks.size(), cells, protocols.c_str(), threads,
      static_cast<long long>(bootstrap), learner_seeds, bins,
      heldout_folds == 0 ? "leave one group out"
                         : (std::to_string(heldout_folds) + "-fold by group").c_str());
  // Where the time goes: wall seconds per stage of evaluate(), then the CPU seconds of the fits
  // (thread time, summed over folds and tasks) per diagnoser and per feature set.
  std::printf("stages (wall):    ");
  for (const auto& [stage, sec] : report.stage_seconds)
    std::printf(" %s %.1f s,", stage.c_str(), sec);
  std::printf("\n");
  print_fit_breakdown(report, split(protocols));
  std::fflush(stdout);
  if (!report_path.empty()) {
    const auto t1 = std::chrono::steady_clock::now();
    std::ofstream(report_path) << diagnosis::render_report_html(
        store, diagnosis::ReportOptions().title("dynfault benchmark corpus"));
    std::printf("report:            %7.1f s -> %s\n", seconds_since(t1), report_path.c_str());
  }
  if (temporary) {
    std::filesystem::remove(db_path);
    std::filesystem::remove(db_path + "-wal");
    std::filesystem::remove(db_path + "-shm");
  }
  return 0;
} catch (const std::exception& e) {
  std::cerr << "bench_evaluation: " << e.what() << '\n';
  return 1;
}
