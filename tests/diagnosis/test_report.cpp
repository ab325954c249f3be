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
    diagnosis::evaluate(store, diagnosis::EvaluateOptions()
                                   .tasks({"fault_type/default4", "detection", "instability"})
                                   .feature_sets({"curves", "deepfd"})
                                   .diagnosers({"logistic_regression", "decision_tree"})
                                   .identity_diagnoser("decision_tree")
                                   .bootstrap(30));
    const std::string html =
        diagnosis::render_report_html(store, diagnosis::ReportOptions().title("pilot <report>"));
    CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
    CHECK(html.find("<title>pilot &lt;report&gt;</title>") != std::string::npos);
    for (const char* section :
         {"libtorch_version", "1.13.1", "tool_version", "campaigns", "Task fault_type/default4",
          "Task detection", "Held-out confusion matrix", "Gap (within &minus; held-out)",
          "Paired feature-set comparisons", "Loss curves per fault class",
          "Program identity and program share of feature variance", "class=\"scores\"",
          "class=\"confusion\"", "class=\"gap\"", "class=\"curves\"", "class=\"identity\""})
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
    const std::regex shape("<(rect|line|polyline|polygon)\\b[^>]*[^/]>");
    CHECK_FALSE(std::regex_search(html, shape));
    // The curves have one legend entry per class present: learning_rate, loss and clean.
    CHECK(html.find(">clean (8)<") != std::string::npos);
    CHECK(html.find(">learning_rate (") != std::string::npos);
  }
}
