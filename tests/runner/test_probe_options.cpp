// The probe configuration (runner/probe_options.h): a campaign's `probes:` mapping, parsed
// strictly and kept out of run ids, and the configuration the store hands a worker. Torch-free:
// planning reads it (the probes themselves are tests/runner/test_probes.cpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "common/check.h"
#include "db/store.h"
#include "runner/campaign.h"
#include "runner/probe_options.h"

namespace {

namespace R = dynfault::runner;

}  // namespace

TEST_SUITE("campaign") {
  TEST_CASE("Probes: the campaign probes: key is parsed strictly and stays out of run ids") {
    const std::string base = "name: p\nprograms: [iris_mlp]\n";
    const std::string text = base +
                             "probes:\n"
                             "  gradients: every_step\n"
                             "  weights: {every_k_epochs: 3}\n"
                             "  activations: off\n"
                             "  optimizer:\n"
                             "    every_k_steps: 10\n"
                             "  curvature: {every_k_epochs: 2, early_steps: log, mode: train,"
                             " method: power, k: 9}\n"
                             "  probe_batch: 64\n"
                             "  curvature_batch: 32\n"
                             "  curvature_tol: 1e-2\n"
                             "  hutchinson_samples: 3\n"
                             "  seed: 9\n"
                             "  max_points: 0\n";
    const R::Campaign c = R::parse_campaign(text, "c.yaml");
    CHECK(c.probes.gradients == R::Cadence::every_step());
    CHECK(c.probes.weights == R::Cadence::every_k_epochs(3));
    CHECK(c.probes.activations.is_off());
    CHECK(c.probes.optimizer == R::Cadence::every_k_steps(10));
    CHECK(c.probes.curvature == R::Cadence::every_k_epochs(2));
    CHECK(c.probes.curvature_early_steps);
    CHECK(c.probes.curvature_mode == R::ProbeOptions::CurvatureMode::kTrain);
    CHECK(c.probes.curvature_method == R::ProbeOptions::CurvatureMethod::kPower);
    CHECK(c.probes.timing == R::ProbeOptions{}.timing);  // unset: default
    CHECK(c.probes.probe_batch == 64);
    CHECK(c.probes.curvature_batch == 32);
    CHECK(c.probes.curvature_iterations == 9);
    CHECK(c.probes.curvature_tol == doctest::Approx(0.01));
    CHECK(c.probes.hutchinson_samples == 3);
    CHECK(c.probes.seed == 9);
    CHECK(c.probes.max_points == 0);
    CHECK(R::probe_options_of_campaign(text, "c.yaml") == c.probes);
    CHECK(R::parse_campaign(base, "c.yaml").probes == R::ProbeOptions{});
    // The curvature mapping: no cadence key = every epoch; `cadence:` takes any spelling; the
    // older top-level curvature_iterations sets k.
    const auto curv = [&](const std::string& yaml) {
      return R::parse_campaign(base + "probes:\n" + yaml, "c.yaml").probes;
    };
    CHECK(curv("  curvature: {mode: train}\n").curvature == R::Cadence::every_epoch());
    CHECK(curv("  curvature: {mode: train}\n").curvature_method ==
          R::ProbeOptions::CurvatureMethod::kLanczos);
    CHECK(curv("  curvature: {cadence: {every_k_steps: 4}}\n").curvature ==
          R::Cadence::every_k_steps(4));
    CHECK(curv("  curvature: {every_k_steps: 3, early_steps: off}\n").curvature ==
          R::Cadence::every_k_steps(3));
    CHECK(curv("  curvature: every_epoch\n  curvature_iterations: 30\n").curvature_iterations ==
          30);
    CHECK(curv("  curvature: {k: 40}\n").to_json().find("\"curvature_iterations\":40") !=
          std::string::npos);
    CHECK(curv("  curvature: {max_points: 12}\n  max_points: 30\n").curvature_cap() == 12);
    CHECK(curv("  max_points: 30\n").curvature_cap() == 30);
    CHECK(R::probe_options_of_campaign(base, "c.yaml") == R::ProbeOptions{});

    // Probes change no run id.
    const auto with = R::plan_campaign(c), without = R::plan_campaign(R::parse_campaign(base, "c"));
    REQUIRE(with.runs.size() == without.runs.size());
    for (size_t i = 0; i < with.runs.size(); ++i)
      CHECK(with.runs[i].run_uuid == without.runs[i].run_uuid);

    struct Bad {
      std::string yaml;
      int line;
      std::string key;
      std::string value = "";  // checked when given
    };
    for (const Bad& b : std::vector<Bad>{
             {"probes:\n  gradient: every_step\n", 4, "probes.gradient"},
             {"probes:\n  curvature: hourly\n", 4, "probes.curvature"},
             {"probes:\n  curvature: {every_k_epochs: 0}\n", 4, "probes.curvature.every_k_epochs"},
             {"probes:\n  curvature: {every_k_days: 2}\n", 4, "probes.curvature.every_k_days"},
             {"probes:\n  weights: {every_k_steps: 2, every_k_epochs: 1}\n", 4, "probes.weights"},
             {"probes:\n  timing: [every_step]\n", 4, "probes.timing"},
             {"probes:\n  probe_batch: 0\n", 4, "probes.probe_batch"},
             {"probes:\n  max_points: -1\n", 4, "probes.max_points"},
             {"probes:\n  curvature_iterations: many\n", 4, "probes.curvature_iterations"},
             {"probes:\n  curvature_tol: -1\n", 4, "probes.curvature_tol"},
             {"probes:\n  hutchinson_samples: 1.5\n", 4, "probes.hutchinson_samples"},
             {"probes: every_epoch\n", 3, "probes"},
             {"probes:\n  curvature: {method: arnoldi}\n", 4, "probes.curvature.method", "arnoldi"},
             {"probes:\n  curvature: {mode: test}\n", 4, "probes.curvature.mode", "test"},
             {"probes:\n  curvature: {k: 1}\n", 4, "probes.curvature.k", "1"},
             {"probes:\n  curvature: {k: 2.5}\n", 4, "probes.curvature.k"},
             {"probes:\n  curvature_iterations: 1\n", 4, "probes.curvature_iterations"},
             {"probes:\n  curvature: {cadence: off, early_steps: log}\n", 4,
              "probes.curvature.early_steps", "log"},
             {"probes:\n  curvature: {every_k_steps: 5, early_steps: log}\n", 4,
              "probes.curvature.early_steps"},
             {"probes:\n  curvature: {early_steps: sometimes}\n", 4,
              "probes.curvature.early_steps"},
             {"probes:\n  curvature: {every_k_epochs: 2, cadence: every_epoch}\n", 4,
              "probes.curvature.cadence"},
             {"probes:\n  curvature: {every_k_epochs: 2, lanczos: true}\n", 4,
              "probes.curvature.lanczos"},
             {"probes:\n  curvature: {k: 10}\n  curvature_iterations: 10\n", 5,
              "probes.curvature_iterations"},
             {"probes:\n  curvature: {max_points: -2}\n", 4, "probes.curvature.max_points"}}) {
      CAPTURE(b.yaml);
      for (int which = 0; which < 2; ++which) {
        try {
          if (which == 0)
            R::parse_campaign(base + b.yaml, "c.yaml");
          else
            R::probe_options_of_campaign(base + b.yaml, "c.yaml");
          FAIL("expected a ConfigError");
        } catch (const dynfault::ConfigError& e) {
          CHECK(e.file() == "c.yaml");
          CHECK(e.line() == b.line);
          CHECK(e.key() == b.key);
          CHECK(std::string(e.what()).find("c.yaml:" + std::to_string(b.line)) == 0);
          if (!b.value.empty()) CHECK(e.value() == b.value);
        }
      }
    }
  }

  TEST_CASE("Probes: the store hands workers the campaign text that holds the probe config") {
    auto store = dynfault::db::Store::memory();
    const std::string text = "name: q\nprograms: [iris_mlp]\nprobes: {curvature: off}\n";
    store.upsert_campaign("q", text, "h");
    REQUIRE(store.campaign_config("q"));
    CHECK(*store.campaign_config("q") == text);
    CHECK_FALSE(store.campaign_config("nope"));
    CHECK(R::probe_options_of_campaign(*store.campaign_config("q"), "db").curvature.is_off());
    CHECK(R::ProbeOptions{}.to_json().find("\"curvature\":\"off\"") != std::string::npos);
    CHECK(R::ProbeOptions::all().to_json().find("\"curvature\":\"every_epoch\"") !=
          std::string::npos);
  }
}
