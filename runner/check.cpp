#include "runner/check.h"

#include <sys/utsname.h>
#include <torch/version.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <thread>

#include "common/check.h"
#include "programs/data.h"
#include "programs/registry.h"
#include "runner/curvature.h"
#include "runner/trainer.h"

namespace dynfault::runner {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double final_metric(const db::RunResult& r) {
  for (const auto& m : r.metrics)
    if (m.key == "final/test_metric") return m.value;
  return kNaN;
}

ProgramCheck describe(const programs::Recipe& r) {
  ProgramCheck c;
  c.id = r.program;
  c.family = r.family;
  c.task = r.task;
  c.kind = r.provenance.kind;
  c.dataset = r.data.name;
  c.source = r.provenance.source;
  c.changes = r.provenance.changes;
  c.optimizer = r.optimizer.name;
  c.lr = r.optimizer.lr;
  c.batch_size = r.batch_size;
  c.epochs = r.epochs;
  c.metric = r.provenance.metric;
  c.satisfactory = r.provenance.satisfactory;
  return c;
}

/// Shortest text that reads back as the same double ("0.001", "1e-07").
std::string num(double v) {
  char buf[32];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

std::string fixed(double v, int digits) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

/// A table cell: no line breaks, and '|' escaped so it stays one cell.
std::string cell(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '|') {
      out += "\\|";
    } else if (ch == '\n') {
      out += ' ';
    } else {
      out += ch;
    }
  }
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  }
  return "unknown CPU";
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

}  // namespace

double ProgramCheck::min_value() const {
  double m = kNaN;
  for (double v : values)
    if (!std::isnan(v) && (std::isnan(m) || v < m)) m = v;
  return m;
}

double ProgramCheck::max_value() const {
  double m = kNaN;
  for (double v : values)
    if (!std::isnan(v) && (std::isnan(m) || v > m)) m = v;
  return m;
}

double ProgramCheck::max_cpu_seconds() const {
  double m = 0;
  for (double s : cpu_seconds) m = std::max(m, s);
  return m;
}

bool ProgramCheck::ok() const {
  if (values.empty()) return false;
  for (size_t i = 0; i < values.size(); ++i)
    if (outcomes[i] != "completed" || !(values[i] >= satisfactory)) return false;
  return true;
}

std::vector<ProgramCheck> check_programs(
    const std::vector<std::string>& ids, int64_t seed, int64_t repeats,
    const std::function<void(const ProgramCheck&)>& on_program) {
  std::vector<ProgramCheck> out;
  for (const std::string& id : ids) {
    const programs::Recipe recipe = programs::program(id);
    ProgramCheck c = describe(recipe);
    for (int64_t k = 0; k < std::max<int64_t>(repeats, 1); ++k) {
      const int64_t s = seed + k;
      const std::clock_t c0 = std::clock();
      const auto t0 = std::chrono::steady_clock::now();
      const db::RunResult result = train(recipe, s, TrainOptions{});
      const auto t1 = std::chrono::steady_clock::now();
      const std::clock_t c1 = std::clock();
      c.seeds.push_back(s);
      c.outcomes.push_back(result.outcome);
      c.values.push_back(final_metric(result));
      c.cpu_seconds.push_back(static_cast<double>(c1 - c0) / CLOCKS_PER_SEC);
      c.wall_seconds.push_back(std::chrono::duration<double>(t1 - t0).count());
      if (c.error.empty() && !result.error.empty()) c.error = result.error;
    }
    if (on_program) on_program(c);
    out.push_back(std::move(c));
  }
  return out;
}

std::string describe_machine() {
  struct utsname u {};
  std::string kernel = "unknown kernel";
  if (uname(&u) == 0) kernel = std::string(u.sysname) + " " + u.release + " " + u.machine;
  const std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
  std::ostringstream os;
  os << cpu_model() << ", " << std::thread::hardware_concurrency() << " logical CPUs, " << kernel
     << ", LibTorch " << TORCH_VERSION
     << " (CPU), one intra-op thread, OMP_NUM_THREADS=" << env_or("OMP_NUM_THREADS", "unset")
     << ", OPENBLAS_NUM_THREADS=" << env_or("OPENBLAS_NUM_THREADS", "unset") << "; " << date;
  return os.str();
}

std::string programs_markdown(const std::vector<ProgramCheck>& checks, const std::string& machine) {
  // The command that regenerates this page, with the seed count it was made with.
  size_t most_seeds = 1;
  for (const auto& c : checks) most_seeds = std::max(most_seeds, c.seeds.size());
  const std::string command =
      "dynfault check programs " +
      (most_seeds > 1 ? "--seeds " + std::to_string(most_seeds) + " " : std::string()) +
      "--markdown docs/programs.md";
  std::ostringstream os;
  os << "# The program catalogue\n\n"
     << "<!-- Generated by `" << command << "`; do not edit. -->\n\n"
     << "Generated by `" << command
     << "` from the program "
        "registry (`programs/*.cpp`) and clean runs measured on: "
     << machine << ".\n\n"
     << "Each program reimplements a real public deep-learning program as a Recipe; *source* "
        "names it, *changes* says what was changed to fit offline data and the time budget. "
        "Every clean run trains through the campaign trainer with its default probes. "
        "*Measured* is the final test metric (accuracy, or R^2 for regression) over the seeds "
        "listed, *CPU s* the largest process CPU time of one whole run (data, training, "
        "evaluation, probes) on one core; *ok* says whether every run reached the "
        "satisfactory value.\n\n";

  std::map<std::string, int> family, task, kind;
  std::vector<int64_t> seeds;
  int ok = 0;
  for (const auto& c : checks) {
    ++family[c.family];
    ++task[c.task];
    ++kind[c.kind];
    ok += c.ok() ? 1 : 0;
    if (c.seeds.size() > seeds.size()) seeds = c.seeds;
  }
  auto counts = [](const std::map<std::string, int>& m) {
    std::string s;
    for (const auto& [k, v] : m) s += (s.empty() ? "" : ", ") + k + " " + std::to_string(v);
    return s;
  };
  os << checks.size() << " programs; " << ok << " reach their satisfactory metric on every seed";
  if (!seeds.empty()) {
    os << " (seeds";
    for (int64_t s : seeds) os << ' ' << s;
    os << ")";
  }
  os << ".\n\n- family: " << counts(family) << "\n- task: " << counts(task)
     << "\n- data kind: " << counts(kind) << "\n\n";

  os << "| id | family | task | kind | data | source | changes | optimizer, lr, batch, epochs "
        "| satisfactory | measured | CPU s | ok |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& c : checks) {
    const std::string lo = fixed(c.min_value(), 3), hi = fixed(c.max_value(), 3);
    os << "| " << c.id << " | " << c.family << " | " << c.task << " | " << c.kind << " | "
       << c.dataset << " | " << cell(c.source) << " | " << cell(c.changes) << " | " << c.optimizer
       << ", " << num(c.lr) << ", " << (c.batch_size == 0 ? "full" : std::to_string(c.batch_size))
       << ", " << c.epochs << " | " << c.metric << " >= " << num(c.satisfactory) << " | "
       << (lo == hi ? lo : lo + " - " + hi) << " | " << fixed(c.max_cpu_seconds(), 1) << " | "
       << (c.ok() ? "yes" : "**no**") << " |\n";
  }
  return os.str();
}

// --- check curvature ----------------------------------------------------------------------------

double CurvatureCheck::Value::rel() const {
  return std::abs(probe - reference) / std::abs(reference);
}

double CurvatureCheck::Value::rel_rho(double rho) const {
  return std::abs(probe - reference) / rho;
}

double CurvatureCheck::rho() const {
  return std::max(std::abs(lambda_max.reference), std::abs(lambda_min.reference));
}

namespace {

/// Fills `c` from one curvature reading: the probe's values, and the reference measured on the
/// same objective.
void compare_curvature(const probes::CurvatureContext& ctx, const CurvatureCheckOptions& options,
                       CurvatureCheck& c) {
  const probes::Curvature& p = ctx.reading;
  c.train_mode = ctx.train_mode;
  c.hvps = p.hvps;
  c.exact_trace = p.exact_trace;
  c.params = p.size;
  c.lambda_max.probe = p.lambda_max;
  c.lambda_min.probe = p.lambda_min;
  c.trace.probe = p.trace;
  c.precond_sharpness.probe = p.precond_sharpness;
  c.stability_ratio.probe = p.stability_ratio;
  ctx.evaluate([&](const torch::Tensor& loss) {
    if (p.size <= options.max_exact) {
      const probes::ExactCurvature x =
          probes::exact_curvature(loss, ctx.params, &ctx.rule, options.max_exact);
      c.reference = "exact";
      c.asymmetry = x.asymmetry;
      c.hutchinson_sd =
          x.hutchinson_sd / std::sqrt(static_cast<double>(options.probe.hutchinson_samples));
      c.lambda_max.reference = x.lambda_max;
      c.lambda_min.reference = x.lambda_min;
      c.trace.reference = x.trace;
      c.precond_sharpness.reference = x.precond_sharpness;
      c.stability_ratio.reference = x.stability_ratio;
      return;
    }
    probes::CurvatureSettings s;
    s.k = options.reference_k;
    s.hutchinson_samples = options.reference_samples;
    s.seed = programs::mix_seed(static_cast<uint64_t>(options.seed), 0x726566);  // "ref"
    probes::CurvatureProbe reference(s);
    const probes::Curvature r = reference.estimate(loss, ctx.params, &ctx.rule);
    c.reference = "lanczos k=" + std::to_string(options.reference_k) + ", hutchinson " +
                  std::to_string(options.reference_samples);
    c.reference_residual = r.residual;
    c.lambda_max.reference = r.lambda_max;
    c.lambda_min.reference = r.lambda_min;
    c.trace.reference = r.trace;
    c.precond_sharpness.reference = r.precond_sharpness;
    c.stability_ratio.reference = r.stability_ratio;
  });
}

std::string sci(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string short_sci(double v) {
  if (std::isnan(v)) return "n/a";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1e", v);
  return buf;
}

}  // namespace

std::vector<CurvatureCheck> check_curvature(
    const std::vector<std::string>& ids, const CurvatureCheckOptions& options,
    const std::function<void(const CurvatureCheck&)>& on_program) {
  DYNFAULT_CHECK(options.step >= 0, "check curvature: the step must be >= 0, got ", options.step);
  std::vector<CurvatureCheck> out;
  for (const std::string& id : ids) {
    const programs::Recipe recipe = programs::program(id);
    CurvatureCheck c;
    c.program = id;
    c.optimizer = recipe.optimizer.name;
    c.step = options.step;
    TrainOptions t;
    // Only the curvature probe, at the chosen step: the end of the run (max_steps) or, for
    // step 0, the first early reading.
    t.probe = options.probe;
    t.probe.gradients = t.probe.weights = t.probe.activations = t.probe.optimizer = t.probe.timing =
        Cadence::off();
    t.probe.curvature = Cadence::every_k_epochs(1000000);
    t.probe.curvature_early_steps = options.step == 0;
    t.probe.max_points = 0;
    t.max_steps = std::max<int64_t>(options.step, 1);
    bool found = false;
    t.on_curvature = [&](const probes::CurvatureContext& ctx) {
      if (found || ctx.updates != options.step) return;
      found = true;
      try {
        compare_curvature(ctx, options, c);
      } catch (const std::exception& e) {  // the trainer would count it as a probe failure
        c.error = e.what();
      }
    };
    const db::RunResult result = train(recipe, options.seed, t);
    c.outcome = result.outcome;
    if (!found && c.error.empty())
      c.error = "no reading after " + std::to_string(options.step) + " updates: the run ended (" +
                result.outcome + (result.error.empty() ? "" : ": " + result.error) + ") before";
    if (on_program) on_program(c);
    out.push_back(std::move(c));
  }
  return out;
}

std::string curvature_check_table(const std::vector<CurvatureCheck>& checks) {
  std::ostringstream os;
  for (const auto& c : checks) {
    os << c.program << " (" << c.optimizer << ", step " << c.step << ", "
       << (c.train_mode ? "train" : "eval") << " mode";
    if (!c.error.empty()) {
      os << "): " << c.error << "\n";
      continue;
    }
    os << ", " << c.params << " parameters; probe: " << c.hvps
       << " products; reference: " << c.reference;
    if (c.reference == "exact") os << ", product asymmetry " << short_sci(c.asymmetry);
    if (c.reference != "exact") os << ", residual " << short_sci(c.reference_residual);
    os << ")\n";
    char line[160];
    std::snprintf(line, sizeof line, "  %-20s %14s %14s %10s %10s\n", "quantity", "probe",
                  "reference", "rel.error", "error/rho");
    os << line;
    const double rho = c.rho();
    const auto row = [&](const char* name, const CurvatureCheck::Value& v, bool eigen) {
      if (std::isnan(v.probe) && std::isnan(v.reference)) return;
      std::snprintf(line, sizeof line, "  %-20s %14s %14s %10s %10s\n", name, sci(v.probe).c_str(),
                    sci(v.reference).c_str(), short_sci(v.rel()).c_str(),
                    eigen ? short_sci(v.rel_rho(rho)).c_str() : "");
      os << line;
    };
    row("lambda_max", c.lambda_max, true);
    row("lambda_min", c.lambda_min, true);
    row(c.exact_trace ? "trace (exact)" : "trace (Hutchinson)", c.trace, false);
    if (!c.exact_trace && c.reference == "exact" && c.hutchinson_sd > 0)
      os << "    the Hutchinson estimate is off by "
         << sci(std::abs(c.trace.probe - c.trace.reference) / c.hutchinson_sd)
         << " standard deviations of the estimate (" << sci(c.hutchinson_sd) << ")\n";
    row("precond_sharpness", c.precond_sharpness, false);
    row("stability_ratio", c.stability_ratio, false);
  }
  return os.str();
}

}  // namespace dynfault::runner
