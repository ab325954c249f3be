// `dynfault list`: the registered programs, fault operators, feature sets and diagnosers.
#include <cstdio>
#include <iostream>

#include "cli/cli.h"
#include "diagnosis/diagnoser.h"
#include "features/feature_set.h"
#include "features/label_inputs.h"
#include "features/labels.h"
#include "mutators/mutator.h"
#include "programs/registry.h"

namespace dynfault::cli {

using programs::Json;

// --- list --------------------------------------------------------------------------------------

namespace {

// The options a diagnoser declares (what --diagnoser-config may set), for `list diagnosers`.
Json options_json(const std::string& diagnoser) {
  Json options = Json::array();
  for (const auto& spec : diagnosis::diagnoser_options(diagnoser)) {
    Json o = {{"name", spec.name},
              {"default", diagnosis::option_text(spec.default_value)},
              {"help", spec.help}};
    if (spec.type == diagnosis::OptionType::choice)
      o["choices"] = spec.choices;
    else
      o["range"] = {spec.min, spec.max};
    options.push_back(o);
  }
  return options;
}

// One line per option under its diagnoser: name, default, range or choices, help.
void print_options(const Json& options) {
  for (const auto& o : options) {
    const std::string allowed =
        o.contains("choices") ? o["choices"].dump()
                              : "[" + diagnosis::option_text(o["range"][0].get<double>()) + ", " +
                                    diagnosis::option_text(o["range"][1].get<double>()) + "]";
    std::printf("    %-18s %-10s %-18s %s\n", o["name"].get<std::string>().c_str(),
                o["default"].get<std::string>().c_str(), allowed.c_str(),
                o["help"].get<std::string>().c_str());
  }
}

/// The feature sets, each with, per label task, the columns the evaluation drops because they
/// restate its rule.
Json feature_sets_json() {
  std::vector<std::string> tasks;
  for (const auto& t : features::load_taxonomies(config_dir() + "/taxonomies.yaml").list)
    tasks.push_back(features::fault_type_task(t.name));
  tasks.insert(tasks.end(), {features::kTaskDetection, features::kTaskInstability,
                             features::kTaskMismatch, features::kTaskEffective});
  Json out = Json::array();
  for (const auto& name : features::feature_set_names()) {
    const auto set = features::feature_set(name);
    Json inputs = Json::object();
    for (const auto& task : tasks)
      inputs[task] = set.restating_columns(features::task_label_inputs(task));
    out.push_back({{"name", name},
                   {"description", set.description()},
                   {"columns", set.names().size()},
                   {"label_inputs", inputs}});
  }
  return out;
}

void print_feature_sets(const Json& out) {
  std::printf("%-12s %7s  %-40s %s\n", "feature set", "columns", "label inputs dropped per task",
              "description");
  for (const auto& j : out) {
    std::string dropped;
    for (const auto& [task, cols] : j["label_inputs"].items())
      if (!cols.empty())
        dropped += (dropped.empty() ? "" : ", ") + task + " " + std::to_string(cols.size());
    std::printf("%-12s %7zu  %-40s %s\n", j["name"].get<std::string>().c_str(),
                j["columns"].get<size_t>(), dropped.empty() ? "none" : dropped.c_str(),
                j["description"].get<std::string>().c_str());
  }
}

Json diagnosers_json() {
  Json out = Json::array();
  for (const auto& name : diagnosis::diagnoser_names()) {
    // Baselines bind their own feature set (e.g. deepfd, default_rf); the others take any.
    const std::string bound = diagnosis::make_diagnoser(name)->feature_set();
    out.push_back({{"name", name},
                   {"feature_set", bound.empty() ? "any" : bound},
                   {"options", options_json(name)}});
  }
  return out;
}

void print_diagnosers(const Json& out) {
  std::printf("%-20s %s\n", "diagnoser", "feature set");
  for (const auto& j : out) {
    std::printf("%-20s %s\n", j["name"].get<std::string>().c_str(),
                j["feature_set"].get<std::string>().c_str());
    print_options(j["options"]);
  }
}

Json programs_json() {
  Json out = Json::array();
  for (const auto& id : programs::program_ids()) {
    const auto r = programs::program(id);
    out.push_back({{"id", id},
                   {"family", r.family},
                   {"task", r.task},
                   {"dataset", r.data.name},
                   {"source", r.provenance.source},
                   {"changes", r.provenance.changes},
                   {"metric", r.provenance.metric},
                   {"satisfactory", r.provenance.satisfactory},
                   {"epochs", r.epochs},
                   {"optimizer", r.optimizer.name},
                   {"lr", r.optimizer.lr},
                   {"loss", r.loss}});
  }
  return out;
}

void print_programs(const Json& out) {
  std::printf("%-16s %-7s %-11s %-14s %s\n", "program", "family", "task", "dataset", "source");
  for (const auto& j : out)
    std::printf("%-16s %-7s %-11s %-14s %s\n", j["id"].get<std::string>().c_str(),
                j["family"].get<std::string>().c_str(), j["task"].get<std::string>().c_str(),
                j["dataset"].get<std::string>().c_str(), j["source"].get<std::string>().c_str());
}

/// A mutator's parameters: name, type, default, doc, and its choices or range.
Json mutator_params_json(const mutators::Mutator& m) {
  Json params = Json::array();
  for (const auto& s : m.params()) {
    static const char* kTypes[] = {"number", "integer", "string", "bool"};
    Json pj = {{"name", s.name},
               {"type", kTypes[static_cast<int>(s.type)]},
               {"default", s.default_value},
               {"doc", s.doc}};
    if (!s.choices.empty()) pj["choices"] = s.choices;
    if (s.type == mutators::ParamSpec::Type::kNumber ||
        s.type == mutators::ParamSpec::Type::kInteger) {
      pj["min"] = s.min;
      pj["max"] = s.max;
    }
    params.push_back(pj);
  }
  return params;
}

Json mutators_json() {
  Json out = Json::array();
  for (const auto& id : mutators::mutator_ids()) {
    const auto& m = mutators::mutator(id);
    out.push_back({{"id", id},
                   {"category", m.category()},
                   {"description", m.description()},
                   {"symptom", m.symptom()},
                   {"params", mutator_params_json(m)}});
  }
  return out;
}

/// The table of docs/mutators.md.
void print_mutators_markdown(const Json& out) {
  std::cout << "# Fault operators\n\nGenerated by `dynfault list mutators --format markdown` "
               "from the registry; do not edit by hand. "
            << out.size() << " operators.\n\n"
            << "| id | category | what it changes | parameters (default) | expected symptom |\n"
            << "|---|---|---|---|---|\n";
  for (const auto& j : out) {
    std::string params;
    for (const auto& pj : j["params"]) {
      params +=
          (params.empty() ? "" : "; ") + pj["name"].get<std::string>() + " (" +
          (pj["default"].is_string() ? pj["default"].get<std::string>() : pj["default"].dump()) +
          ")";
      if (pj.contains("choices")) {
        std::string c;
        for (const auto& x : pj["choices"]) c += (c.empty() ? "" : ", ") + x.get<std::string>();
        params += ": " + c;
      }
    }
    std::cout << "| `" << j["id"].get<std::string>() << "` | " << j["category"].get<std::string>()
              << " | " << j["description"].get<std::string>() << " | " << params << " | "
              << j["symptom"].get<std::string>() << " |\n";
  }
}

void print_mutators(const Json& out) {
  std::printf("%-20s %-15s %s\n", "mutator", "category", "description");
  for (const auto& j : out)
    std::printf("%-20s %-15s %s\n", j["id"].get<std::string>().c_str(),
                j["category"].get<std::string>().c_str(),
                j["description"].get<std::string>().c_str());
}

}  // namespace

int cmd_list(const Args& args) {
  std::string format = "text";
  po::options_description d("Options");
  d.add_options()("format", po::value(&format)->default_value("text"),
                  "text, json, or markdown (mutators: the table of docs/mutators.md)");
  auto p = parse("list", args, d,
                 "list programs|mutators|features|diagnosers [--format text|json|markdown]", 1);
  if (p.positional.empty())
    throw UsageError("list: say what to list: programs, mutators, features or diagnosers");
  if (format != "text" && format != "json" && format != "markdown")
    throw UsageError("list: --format must be text, json or markdown, got '" + format + "'");
  const std::string what = p.positional[0];
  if (what == "features" || what == "diagnosers") {
    if (format == "markdown") throw UsageError("list " + what + ": --format is text or json");
    const bool features = what == "features";
    const Json out = features ? feature_sets_json() : diagnosers_json();
    if (format == "json")
      std::cout << out.dump(2) << '\n';
    else if (features)
      print_feature_sets(out);
    else
      print_diagnosers(out);
    return 0;
  }
  if (what == "programs") {
    const Json out = programs_json();
    if (format == "markdown")
      throw UsageError(
          "list programs: the programs catalogue with measured times is written by "
          "'dynfault check programs --markdown FILE'");
    if (format == "json")
      std::cout << out.dump(2) << '\n';
    else
      print_programs(out);
    return 0;
  }
  if (what == "mutators") {
    const Json out = mutators_json();
    if (format == "json")
      std::cout << out.dump(2) << '\n';
    else if (format == "markdown")
      print_mutators_markdown(out);
    else
      print_mutators(out);
    return 0;
  }
  throw UsageError("list: unknown list '" + what +
                   "' (programs, mutators, features or diagnosers)");
}

}  // namespace dynfault::cli
