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
    "every command takes --db PATH (default dynfault.db)\n";

int dispatch(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << kUsage;
    return 2;
  }
  const std::string cmd = argv[1];
  const std::vector<std::string> args(argv + 2, argv + argc);
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::cout << kUsage;
    return 0;
  }
  if (cmd == "--version") {
    std::cout << "dynfault " << kVersion << '\n';
    return 0;
  }
  static const std::map<std::string, std::function<int(const Args&)>> kCommands =
      {{"list", cmd_list},         {"plan", cmd_plan},         {"run", cmd_run},
       {"worker", cmd_worker},     {"status", cmd_status},     {"labels", cmd_labels},
       {"merge", cmd_merge},       {"report", cmd_report},
       {"check", cmd_check},
       {"features", cmd_features}, {"evaluate", cmd_evaluate}, {"demo", cmd_demo},
       {"export", cmd_export},     {"replay", cmd_replay},
       {"train", cmd_train},       {"diagnose", cmd_diagnose}, {"trace-csv", cmd_trace_csv}};
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
