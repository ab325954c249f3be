// Expected values are worked out by hand from the confusion matrices; they are what
// scikit-learn's balanced_accuracy_score and f1_score(average="macro", zero_division=0) return
// for the same inputs (same definitions, see diagnosis/metrics.h).
#include <doctest/doctest.h>

#include <cmath>

#include "common/check.h"
#include "diagnosis/metrics.h"

using namespace dynfault::diagnosis;

TEST_SUITE("diagnosis") {
  // true a a a b b c / pred a a b b c c
  // recall a 2/3, b 1/2, c 1/1 -> balanced accuracy (2/3 + 1/2 + 1) / 3 = 0.72222
  // F1: a 2*2/(4+0+1) = 0.8, b 2/(2+1+1) = 0.5, c 2/(2+1+0) = 2/3 -> macro 0.65556
  TEST_CASE("Metrics: balanced accuracy and macro-F1 of a hand-made 3-class case") {
    const Labels t = {"a", "a", "a", "b", "b", "c"};
    const Labels p = {"a", "a", "b", "b", "c", "c"};
    const auto cm = confusion_matrix(t, p);
    CHECK(cm.classes == std::vector<std::string>{"a", "b", "c"});
    CHECK(cm.counts == std::vector<std::vector<int64_t>>{{2, 1, 0}, {0, 1, 1}, {0, 0, 1}});
    CHECK(balanced_accuracy(t, p) == doctest::Approx((2.0 / 3 + 0.5 + 1.0) / 3));
    CHECK(macro_f1(t, p) == doctest::Approx((0.8 + 0.5 + 2.0 / 3) / 3));
    CHECK(accuracy(t, p) == doctest::Approx(4.0 / 6));
    const auto r = per_class_recall(cm);
    CHECK(r.at("a") == doctest::Approx(2.0 / 3));
    CHECK(r.at("c") == 1.0);
  }

  // A class only predicted ("z") adds no recall term (sklearn drops it) but is in macro-F1's
  // label set with F1 0: BA (1/2 + 1) / 2 = 0.75; F1 a 2/3, b 1, z 0 -> 0.5556.
  TEST_CASE("Metrics: a predicted-only class follows scikit-learn's conventions") {
    const Labels t = {"a", "a", "b", "b"};
    const Labels p = {"a", "z", "b", "b"};
    CHECK(balanced_accuracy(t, p) == doctest::Approx(0.75));
    CHECK(macro_f1(t, p) == doctest::Approx((2.0 / 3 + 1.0 + 0.0) / 3));
    CHECK(per_class_recall(confusion_matrix(t, p)).count("z") == 0);
  }

  TEST_CASE("Metrics: perfect, constant and empty predictions") {
    const Labels t = {"a", "b", "b", "b"};
    CHECK(balanced_accuracy(t, t) == 1.0);
    CHECK(macro_f1(t, t) == 1.0);
    const Labels all_b = {"b", "b", "b", "b"};
    CHECK(balanced_accuracy(t, all_b) == doctest::Approx(0.5));  // accuracy would say 0.75
    CHECK(macro_f1(t, all_b) == doctest::Approx((0.0 + 6.0 / 7) / 2));
    CHECK(std::isnan(balanced_accuracy(Labels{}, Labels{})));
    CHECK_THROWS_AS(confusion_matrix({"a"}, {"a", "b"}), dynfault::Error);
  }

  TEST_CASE("Metrics: a fixed class list keeps absent classes out of the averages") {
    const auto cm = confusion_matrix({"a", "b"}, {"a", "a"}, {"a", "b", "c"});
    CHECK(cm.counts.size() == 3);
    CHECK(balanced_accuracy(cm) == doctest::Approx(0.5));         // recall a 1, b 0
    CHECK(macro_f1(cm) == doctest::Approx((2.0 / 3 + 0.0) / 2));  // c not in the union
  }
}
