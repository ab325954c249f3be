// Flag parsing and the small helpers every command file uses (cli/cli.h).
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli.h"
#include "common/output_file.h"

namespace fs = std::filesystem;

namespace dynfault::cli {

std::string self_binary() {
  std::error_code ec;
  const auto p = fs::read_symlink("/proc/self/exe", ec);
  DYNFAULT_CHECK(!ec, "cannot locate the dynfault executable: ", ec.message());
  return p.string();
}

std::string config_dir() {
  if (const char* env = std::getenv("DYNFAULT_CONFIG_DIR")) return env;
  return DYNFAULT_SOURCE_CONFIG_DIR;
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
