// Flag parsing and the small helpers every command file uses (cli/cli.h).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "common/install_dirs.h"
#include "common/output_file.h"

namespace fs = std::filesystem;

namespace dynfault::cli {

std::string self_binary() {
  const std::string p = executable_path();
  DYNFAULT_CHECK(!p.empty(), "cannot locate the dynfault executable (/proc/self/exe)");
  return p;
}

namespace {

std::string g_configs_flag;  // --configs DIR, taken off the command line by main()

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

}  // namespace

void set_configs_flag(const std::string& dir) { g_configs_flag = dir; }

const std::string& configs_flag() { return g_configs_flag; }

ConfigDir find_config_dir() {
  const auto given = [](const std::string& dir, const std::string& by) {
    if (!is_dir(dir)) throw Error(by + " names '" + dir + "', which is not a directory");
    return ConfigDir{dir, by};
  };
  if (!g_configs_flag.empty()) return given(g_configs_flag, "--configs");
  if (const char* env = std::getenv("DYNFAULT_CONFIGS"); env && *env)
    return given(env, "DYNFAULT_CONFIGS");
  if (const char* env = std::getenv("DYNFAULT_CONFIG_DIR"); env && *env) {
    static bool warned = false;
    if (!warned)
      std::cerr << "dynfault: DYNFAULT_CONFIG_DIR is deprecated; set DYNFAULT_CONFIGS instead\n";
    warned = true;
    return given(env, "DYNFAULT_CONFIG_DIR");
  }
  const std::string installed = installed_share_dir("configs");
  if (!installed.empty()) return {installed, "next to the installed binary"};
  if (is_dir(DYNFAULT_SOURCE_CONFIG_DIR)) return {DYNFAULT_SOURCE_CONFIG_DIR, "the source tree"};
  throw Error(std::string("no configs directory: none given (--configs DIR, DYNFAULT_CONFIGS), "
                          "none installed next to '") +
              self_binary() + "', and the source tree's '" + DYNFAULT_SOURCE_CONFIG_DIR +
              "' is gone");
}

std::string config_dir() { return find_config_dir().path; }

std::string campaign_path(const std::string& name) {
  std::error_code ec;
  if (fs::exists(name, ec) || name.find('/') != std::string::npos) return name;
  const std::string dir = config_dir();
  for (const std::string& candidate : {dir + "/" + name, dir + "/" + name + ".yaml"})
    if (fs::is_regular_file(candidate, ec)) return candidate;
  return name;
}

Parsed parse(const std::string& cmd, const Args& args, po::options_description desc,
             const std::string& usage, int max_positional) {
  desc.add_options()("help,h", "show this help");
  po::options_description all;
  all.add(desc).add_options()("positional", po::value<std::vector<std::string>>(), "");
  po::positional_options_description pos;
  pos.add("positional", -1);
  Parsed p;
  try {
    po::store(po::command_line_parser(args).options(all).positional(pos).run(), p.vm);
    po::notify(p.vm);
  } catch (const po::error& e) {
    throw UsageError(cmd + ": " + e.what() + " (see 'dynfault " + cmd + " --help')");
  }
  if (p.vm.count("help")) {
    std::cout << "usage: dynfault " << usage << "\n\n" << desc << '\n';
    std::exit(0);
  }
  if (p.vm.count("positional")) p.positional = p.vm["positional"].as<std::vector<std::string>>();
  if (static_cast<int>(p.positional.size()) > max_positional)
    throw UsageError(cmd + ": unexpected argument '" + p.positional[max_positional] +
                     "' (see 'dynfault " + cmd + " --help')");
  return p;
}

po::options_description db_option(std::string& db) {
  po::options_description d("Options");
  d.add_options()("db", po::value(&db)->default_value("dynfault.db"),
                  "SQLite database file (a file name, never an SQLite URI)");
  return d;
}

db::Store open_existing(const std::string& path) {
  if (!fs::exists(path)) throw Error("no database '" + path + "'");
  return db::Store::open(path, false);
}

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string x; std::getline(ss, x, ',');)
    if (!x.empty()) out.push_back(x);
  return out;
}

void print_removed_stale(const std::vector<std::string>& removed) {
  for (const auto& r : removed) std::cerr << "dynfault: removed stale temporary " << r << '\n';
}

void write_output(const std::string& out, const std::string& text, bool force,
                  const std::string& what) {
  print_removed_stale(files::write_output_file(out, text, force, what));
}

}  // namespace dynfault::cli
