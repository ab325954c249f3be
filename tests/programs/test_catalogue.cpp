// The catalogue as a whole: at least 38 programs whose mix of data kinds, families and tasks
// matches the corpus design, each with a complete provenance and a declared data shape.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "programs/data.h"
#include "programs/recipe.h"
#include "programs/registry.h"

namespace P = dynfault::programs;

TEST_SUITE("programs") {
  TEST_CASE("Catalogue: 38 programs with the required mix of data, families and tasks") {
    // Data kinds (Provenance::kind): image (Fashion-MNIST, 8 x 8 digits as images), tabular
    // (scikit-learn tables, penguins), sequence (time series, token sequences), text (bags of
    // words), synthetic (2-D classics, polynomials). Sequence programs are counted by family:
    // the "sequence (RNN/LSTM/GRU)" programs are the rnn family.
    std::map<std::string, int> kind, family, task;
    for (const std::string& id : P::program_ids()) {
      const P::Recipe r = P::program(id);
      ++kind[r.provenance.kind];
      ++family[r.family];
      ++task[r.task];
    }
    CHECK(P::program_ids().size() >= 38);  // the corpus design; more may be added
    CHECK(kind["image"] >= 12);
    CHECK(kind["tabular"] >= 8);
    CHECK(family["rnn"] >= 6);
    CHECK(kind["synthetic"] >= 4);
    CHECK(family["autoencoder"] >= 2);
    CHECK(task["regression"] >= 4);
    CHECK(kind["sequence"] + kind["text"] >= 6);
    MESSAGE("kinds: image " << kind["image"] << ", tabular " << kind["tabular"] << ", sequence "
                            << kind["sequence"] << ", text " << kind["text"] << ", synthetic "
                            << kind["synthetic"] << "; rnn " << family["rnn"] << ", autoencoder "
                            << family["autoencoder"] << ", regression " << task["regression"]);
  }

  TEST_CASE("Catalogue: every program declares its data and a consistent kind and task") {
    const std::set<std::string> kinds{"image", "tabular", "sequence", "text", "synthetic"};
    const std::map<std::string, std::set<std::string>> loaders_of_kind = {
        {"image", {"fashion_mnist", "digits"}},
        {"tabular", {"iris", "wine", "breast_cancer", "digits", "diabetes", "penguins"}},
        {"sequence", {"sine_sequence", "lagged_series", "adding_problem", "parity", "imdb_tokens"}},
        {"text", {"reuters_bow"}},
        {"synthetic", {"spirals", "blobs", "circles", "moons", "xor", "polynomial"}}};
    std::set<std::string> sources;
    for (const std::string& id : P::program_ids()) {
      CAPTURE(id);
      const P::Recipe r = P::program(id);
      REQUIRE(kinds.count(r.provenance.kind) == 1);
      CHECK(P::data_loader_registry().contains(r.data.name));
      // The catalogue's loaders serve the kinds of data they hold; a loader added later (with
      // its own loader test) is not pinned here, so adding one breaks nothing.
      bool catalogue_loader = false;
      for (const auto& [kind, names] : loaders_of_kind)
        catalogue_loader |= names.count(r.data.name) > 0;
      if (catalogue_loader) CHECK(loaders_of_kind.at(r.provenance.kind).count(r.data.name) == 1);
      CHECK(!r.data.sample_shape.empty());
      CHECK(r.data.num_classes >= 0);
      CHECK((r.data.num_classes == 0) == (r.task == "regression"));
      if (r.task == "binary") CHECK(r.data.num_classes == 2);
      if (r.task == "multiclass") CHECK(r.data.num_classes > 2);
      if (r.family == "autoencoder") CHECK(r.data.params.at("autoencoder") == 1);
      // Provenance names the real program and is honest about what changed.
      CHECK(r.provenance.source.size() > 80);
      CHECK(r.provenance.changes.size() > 80);
      CHECK(r.provenance.satisfactory > 0);
      CHECK(sources.insert(r.provenance.source).second);
    }
  }
}
