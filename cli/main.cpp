// The dynfault command line: dispatches to the command groups (cli/cli.h says which file holds
// which command).
#include <functional>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "cli/cli.h"
#include "common/memory.h"
#include "common/text.h"
#include "common/version.h"
#include "programs/data.h"

namespace dynfault::cli {
namespace {

// --- dispatch ----------------------------------------------------------------------------------

const char* kUsage =
    "usage: dynfault <command> [options]   (dynfault <command> --help for details)\n"
    "\n"
    "commands:\n"
    "  list programs|mutators   show the registered programs or fault operators\n"
    "  plan FILE                plan a campaign into the database (idempotent)\n"
    "  run [FILE]               execute scheduled runs with --jobs worker processes\n"
    "  status                   counts by status, outcome, program and operator\n"
    "  merge --into A.db B.db.. merge databases (idempotent; other campaigns join beside)\n"
    "  labels                   derive labels (fault type, detection, instability, mismatch)\n"
    "  features                 extract feature sets from the stored traces\n"
    "  evaluate                 diagnosers on the protocol ladder (random ... data set held out)\n"
    "  report                   write the evaluation as one self-contained HTML file\n"
    "  demo                     the whole pipeline on configs/quick.yaml\n"
    "  export --out DIR         write the database as CSV files or an MLflow mlruns tree\n"
    "  replay RUN_ID            train a stored run again and compare the traces\n"
    "  train --out MODEL        fit one diagnoser on all labelled traces and save it\n"
    "  diagnose --model MODEL   diagnose a stored run (--run) or a per-epoch CSV (--trace)\n"
    "  trace-csv RUN_ID         write a stored run as the per-epoch CSV diagnose reads\n"
    "\n"
    "every command takes --db PATH (default dynfault.db) and --configs DIR (taxonomies,\n"
    "thresholds and campaigns; default: $DYNFAULT_CONFIGS, else the installed configs, else\n"
    "the source tree's; 'dynfault --version' says which)\n";

/// Takes `--configs DIR` (or `--configs=DIR`) off the command line wherever it stands.
std::vector<std::string> take_configs_flag(std::vector<std::string> args) {
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--configs") {
      if (i + 1 >= args.size()) throw UsageError("--configs needs a directory");
      set_configs_flag(args[i + 1]);
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i),
                 args.begin() + static_cast<std::ptrdiff_t>(i + 2));
    } else if (args[i].rfind("--configs=", 0) == 0) {
      set_configs_flag(args[i].substr(10));
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
    } else {
      ++i;
    }
  }
  return args;
}

/// `dynfault --version`: the build, and where this binary finds what it reads.
void print_version() {
  std::cout << "dynfault " << kVersion << '\n';
  const ConfigDir configs = find_config_dir();
  std::cout << "configs: " << configs.path << " (" << configs.source << ")\n"
            << "data: " << programs::vendored_data_dir() << '\n';
}

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::vector<std::string> all = take_configs_flag({argv + 1, argv + argc});
  if (all.empty()) throw UsageError(std::string("no command given\n") + kUsage);
  const std::string cmd = all[0];
  const std::vector<std::string> args(all.begin() + 1, all.end());
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version") {
    print_version();
    return 0;
  }
  static const std::map<std::string, std::function<int(const Args&)>> kCommands = {
      {"list", cmd_list},         {"plan", cmd_plan},          {"run", cmd_run},
      {"worker", cmd_worker},     {"status", cmd_status},      {"labels", cmd_labels},
      {"merge", cmd_merge},       {"report", cmd_report},      {"check", cmd_check},
      {"features", cmd_features}, {"evaluate", cmd_evaluate},  {"demo", cmd_demo},
      {"export", cmd_export},     {"replay", cmd_replay},      {"train", cmd_train},
      {"diagnose", cmd_diagnose}, {"trace-csv", cmd_trace_csv}};
  auto it = kCommands.find(cmd);
  if (it == kCommands.end()) throw UsageError("unknown command '" + cmd + "'\n" + kUsage);
  return it->second(args);
}

}  // namespace
}  // namespace dynfault::cli

int main(int argc, char** argv) {
  dynfault::keep_freed_heap_memory();
  try {
    return dynfault::cli::dispatch(argc, argv);
  } catch (const dynfault::cli::UsageError& e) {
    std::cerr << "dynfault: " << dynfault::text::printable(e.what()) << '\n';
    return 2;
  } catch (const std::exception& e) {
    // Messages quote input (a CSV cell, a file name): its control bytes reach the terminal
    // escaped, never as commands to it.
    std::cerr << "dynfault: " << dynfault::text::printable(e.what()) << '\n';
    return 1;
  }
}
