// The HTML report renders from a stored evaluation: expected sections, no network reference,
// balanced tags.
#include <doctest/doctest.h>

#include <regex>

#include "diagnosis/evaluation.h"
#include "diagnosis/report.h"
#include "tests/diagnosis/corpus_fixture.h"

using namespace dynfault;

namespace {

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_SUITE("diagnosis") {
  TEST_CASE("Report: renders the latest evaluation as one self-contained HTML file") {
    db::Store store = testing::corpus(/*programs=*/4, /*per=*/8, /*clean=*/2);
    store.set_info("tool_version", "0.1.0");
    store.set_info("libtorch_version", "1.13.1");
    CHECK_THROWS_WITH_AS(diagnosis::render_report_html(store, diagnosis::ReportOptions()),
                         doctest::Contains("no evaluation"), dynfault::Error);
    diagnosis::evaluate(store,
                        diagnosis::EvaluateOptions()
                            .tasks({"fault_type/default4", "detection"})
                            .feature_sets({"curves", "deepfd"})
                            .diagnosers({"logistic_regression", "decision_tree"})
                            .protocols({"random", "config", "program", "dataset"})
                            .identity_diagnoser("decision_tree")
                            .taxonomies_path(testing::kSourceDir + "/configs/taxonomies.yaml")
                            .thresholds_path(testing::kSourceDir + "/configs/thresholds.yaml")
                            .bootstrap(30));
    const std::string html =
        diagnosis::render_report_html(store, diagnosis::ReportOptions().title("pilot <report>"));
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<title>pilot &lt;report&gt;</title>") != std::string::npos);
    for (const char* section : {"libtorch_version",
                                "1.13.1",
                                "tool_version",
                                "campaigns",
                                "Task fault_type/default4",
                                "Task detection",
                                "Confusion matrix on rung dataset",
                                "Loss from random to dataset",
                                "The ladder: balanced accuracy per rung",
                                "Recall per class and rung",
                                "Paired feature-set comparisons",
                                "Loss curves per fault class",
                                "label_rule",
                                "Program identity and program share of feature variance",
                                "class=\"scores\"",
                                "class=\"confusion\"",
                                "class=\"gap\"",
                                "class=\"curves\"",
                                "class=\"identity\"",
                                "class=\"ladder\"",
                                "class=\"losses\"",
                                "class=\"recall\"",
                                "config &rarr; program",
                                "leave one program out"})
      CHECK_MESSAGE(html.find(section) != std::string::npos, section);
    // Offline: no network reference, no script.
    CHECK(html.find("http://") == std::string::npos);
    CHECK(html.find("https://") == std::string::npos);
    CHECK(html.find("<script") == std::string::npos);
    // Well-formed enough: every opened table, row and svg is closed.
    for (const auto& [open, close] :
         std::vector<std::pair<std::string, std::string>>{{"<table", "</table>"},
                                                          {"<tr>", "</tr>"},
                                                          {"<svg", "</svg>"},
                                                          {"<polyline", "/>"},
                                                          {"<h2>", "</h2>"},
                                                          {"<html", "</html>"}}) {
      CAPTURE(open);
      if (open == "<polyline") continue;  // self-closing elements are counted below
      CHECK(count(html, open) == count(html, close));
      CHECK(count(html, open) > 0);
    }
    // Every SVG shape is self-closed.
    const std::regex shape("<(rect|line|polyline|polygon|circle)\\b[^>]*[^/]>");
    CHECK_FALSE(std::regex_search(html, shape));
    // The curves have one legend entry per class present: learning_rate, loss and clean.
    CHECK(html.find(">clean (8)<") != std::string::npos);
    CHECK(html.find(">learning_rate (") != std::string::npos);
    // One ladder chart per feature set, each with a line per diagnoser and the label rule:
    // 4 rungs, so 4 points per line.
    CHECK(count(html, "<svg class=\"ladder\"") == 2 /*tasks*/ * 2 /*sets*/);
    CHECK(count(html, "<circle") == 2 /*tasks*/ * 2 /*sets*/ * 3 /*lines*/ * 4 /*rungs*/);
  }

  TEST_CASE("Report: an evaluation stored before the ladder reads as rungs random and program") {
    db::Store store = testing::corpus(/*programs=*/3, /*per=*/4);
    auto row = [](const std::string& protocol, const std::string& metric, double v) {
      db::EvaluationRow r;
      r.evaluation_id = "ev-old";
      r.task = "fault_type/default4";
      r.protocol = protocol;
      r.diagnoser = "logistic_regression";
      r.feature_set = "deepfd";
      r.metric = metric;
      r.value = v;
      r.ci_low = v - 0.05;
      r.ci_high = v + 0.05;
      r.n = 12;
      return r;
    };
    store.write_evaluation({row("within", "balanced_accuracy", 0.8),
                            row("heldout", "balanced_accuracy", 0.6),
                            row("gap", "balanced_accuracy", 0.2)});
    const std::string html = diagnosis::render_report_html(store, diagnosis::ReportOptions());
    for (const char* text : {"<th>random</th>", "<th>program</th>", "random &rarr; program",
                             "Loss from random to program", "class=\"ladder\""})
      CHECK_MESSAGE(html.find(text) != std::string::npos, text);
  }
}
