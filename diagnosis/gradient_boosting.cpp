#include "diagnosis/gradient_boosting.h"

#include <xgboost/c_api.h>

#include <algorithm>
#include <cmath>
#include <istream>
#include <ostream>

#include "diagnosis/model_io.h"

namespace dynfault::diagnosis {
namespace {

constexpr int kFormatVersion = 1;

void xgb_check(int rc, const char* what) {
  DYNFAULT_CHECK(rc == 0, "GradientBoosting: XGBoost ", what, " failed: ", XGBGetLastError());
}

struct DMatrix {
  DMatrixHandle handle = nullptr;
  explicit DMatrix(const Matrix& x) {
    std::vector<float> data(x.data.size());
    for (size_t i = 0; i < data.size(); ++i) {
      const double v = x.data[i];
      data[i] = std::isnan(v) ? NAN : static_cast<float>(std::clamp(v, -1e38, 1e38));
    }
    xgb_check(XGDMatrixCreateFromMat(data.data(), x.rows, x.cols, NAN, &handle),
              "XGDMatrixCreateFromMat");
  }
  ~DMatrix() {
    if (handle) XGDMatrixFree(handle);
  }
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
};

}  // namespace

struct GradientBoosting::Booster {
  BoosterHandle handle = nullptr;
  Booster(const DMatrixHandle* cache, bst_ulong n) {
    xgb_check(XGBoosterCreate(cache, n, &handle), "XGBoosterCreate");
  }
  ~Booster() {
    if (handle) XGBoosterFree(handle);
  }
  void set(const char* key, const std::string& value) {
    xgb_check(XGBoosterSetParam(handle, key, value.c_str()), "XGBoosterSetParam");
  }
};

GradientBoosting::GradientBoosting(GradientBoostingOptions o) : options_(o) {
  DYNFAULT_CHECK(o.rounds() >= 1, "GradientBoosting: rounds must be >= 1, got ", o.rounds());
  DYNFAULT_CHECK(o.max_depth() >= 1, "GradientBoosting: max_depth must be >= 1, got ",
                 o.max_depth());
  DYNFAULT_CHECK(o.eta() > 0 && o.eta() <= 1, "GradientBoosting: eta must be in (0, 1], got ",
                 o.eta());
  DYNFAULT_CHECK(o.subsample() > 0 && o.subsample() <= 1,
                 "GradientBoosting: subsample must be in (0, 1], got ", o.subsample());
  DYNFAULT_CHECK(o.colsample() > 0 && o.colsample() <= 1,
                 "GradientBoosting: colsample must be in (0, 1], got ", o.colsample());
  DYNFAULT_CHECK(o.max_bin() >= 2, "GradientBoosting: max_bin must be >= 2, got ", o.max_bin());
}

void GradientBoosting::configure(const LearnerSettings& settings) {
  DYNFAULT_CHECK(settings.max_bins >= 2, "GradientBoosting: max_bin must be >= 2, got ",
                 settings.max_bins);
  options_.max_bin(settings.max_bins).seed(settings.seed);
}

GradientBoosting::~GradientBoosting() = default;

std::string GradientBoosting::xgboost_version() {
  int major = 0, minor = 0, patch = 0;
  XGBoostVersion(&major, &minor, &patch);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

void GradientBoosting::fit(const Matrix& x, const Labels& y) {
  classes_ = training_classes(x, y, "GradientBoosting");
  dims_ = x.cols;
  booster_.reset();
  fitted_ = true;
  if (classes_.size() == 1) return;  // one class: the constant prediction is the exact answer
  DMatrix dm(x);
  const std::vector<size_t> yi = encode_labels(y, classes_);
  std::vector<float> label(yi.begin(), yi.end());
  xgb_check(XGDMatrixSetFloatInfo(dm.handle, "label", label.data(), label.size()),
            "XGDMatrixSetFloatInfo");
  auto b = std::make_unique<Booster>(&dm.handle, 1);
  const auto& o = options_;
  // Two classes: one logistic tree per round instead of one softmax tree per class (half the
  // cost, the same model family).
  if (classes_.size() == 2) {
    b->set("objective", "binary:logistic");
  } else {
    b->set("objective", "multi:softprob");
    b->set("num_class", std::to_string(classes_.size()));
  }
  b->set("tree_method", "hist");
  b->set("nthread", "1");
  b->set("verbosity", "0");
  b->set("max_depth", std::to_string(o.max_depth()));
  b->set("eta", std::to_string(o.eta()));
  b->set("subsample", std::to_string(o.subsample()));
  b->set("colsample_bytree", std::to_string(o.colsample()));
  b->set("min_child_weight", std::to_string(o.min_child_weight()));
  b->set("lambda", std::to_string(o.lambda()));
  b->set("max_bin", std::to_string(o.max_bin()));
  b->set("seed", std::to_string(o.seed() % 2147483647ULL));
  for (int r = 0; r < o.rounds(); ++r)
    xgb_check(XGBoosterUpdateOneIter(b->handle, r, dm.handle), "XGBoosterUpdateOneIter");
  booster_ = std::move(b);
}

Matrix GradientBoosting::predict_proba(const Matrix& x) const {
  DYNFAULT_CHECK(fitted_, "GradientBoosting: predict() before fit()");
  DYNFAULT_CHECK(x.cols == dims_, "GradientBoosting: fitted on ", dims_, " features, got ", x.cols);
  const size_t k = classes_.size();
  Matrix p(x.rows, k, k == 1 ? 1.0 : 0.0);
  if (!booster_ || x.rows == 0) return p;
  DMatrix dm(x);
  std::lock_guard<std::mutex> lock(mutex_);
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  xgb_check(XGBoosterPredictFromDMatrix(
                booster_->handle, dm.handle,
                R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
                R"("strict_shape": true})",
                &shape, &dim, &out),
            "XGBoosterPredictFromDMatrix");
  if (k == 2) {  // binary:logistic gives P(class 1)
    DYNFAULT_CHECK(dim == 2 && shape[0] == x.rows && shape[1] == 1,
                   "GradientBoosting: unexpected prediction shape from XGBoost");
    for (size_t i = 0; i < x.rows; ++i) {
      p(i, 1) = out[i];
      p(i, 0) = 1.0 - static_cast<double>(out[i]);
    }
  } else {
    DYNFAULT_CHECK(dim == 2 && shape[0] == x.rows && shape[1] == k,
                   "GradientBoosting: unexpected prediction shape from XGBoost");
    for (size_t i = 0; i < x.rows * k; ++i) p.data[i] = out[i];
  }
  return p;
}

Labels GradientBoosting::predict(const Matrix& x) const {
  return argmax_labels(predict_proba(x), classes_);
}

void GradientBoosting::save(std::ostream& out) const {
  DYNFAULT_CHECK(fitted_, "GradientBoosting::save(): not fitted");
  const auto& o = options_;
  model_io::write_header(out, name(), kFormatVersion);
  model_io::write_vector(
      out, "options",
      {double(o.rounds()), double(o.max_depth()), o.eta(), o.subsample(), o.colsample(),
       o.min_child_weight(), o.lambda(), double(o.max_bin()), double(o.seed())});
  model_io::write_strings(out, "classes", classes_);
  model_io::write_int(out, "dims", static_cast<int64_t>(dims_));
  std::string bytes;
  if (booster_) {
    bst_ulong len = 0;
    const char* buf = nullptr;
    xgb_check(XGBoosterSaveModelToBuffer(booster_->handle, R"({"format": "ubj"})", &len, &buf),
              "XGBoosterSaveModelToBuffer");
    bytes.assign(buf, len);
  }
  model_io::write_blob(out, "xgboost_ubj", bytes);
  out << "end\n";
}

void GradientBoosting::load(std::istream& in) {
  const std::string who = "GradientBoosting";
  model_io::read_header(in, name(), kFormatVersion);
  const auto o = model_io::read_vector(in, "options", 9, who);
  auto classes = model_io::read_strings(in, "classes", who);
  const int64_t dims = model_io::read_int(in, "dims", who);
  DYNFAULT_CHECK(!classes.empty() && dims >= 0, who, "::load(): bad header");
  const std::string bytes = model_io::read_blob(in, "xgboost_ubj", who);
  model_io::read_end(in, who);
  std::unique_ptr<Booster> b;
  if (classes.size() > 1) {
    DYNFAULT_CHECK(!bytes.empty(), who, "::load(): no XGBoost model for ", classes.size(),
                   " classes");
    b = std::make_unique<Booster>(nullptr, 0);
    xgb_check(XGBoosterLoadModelFromBuffer(b->handle, bytes.data(), bytes.size()),
              "XGBoosterLoadModelFromBuffer");
    b->set("nthread", "1");
  }
  options_ = GradientBoostingOptions()
                 .rounds(static_cast<int>(o[0]))
                 .max_depth(static_cast<int>(o[1]))
                 .eta(o[2])
                 .subsample(o[3])
                 .colsample(o[4])
                 .min_child_weight(o[5])
                 .lambda(o[6])
                 .max_bin(static_cast<int>(o[7]))
                 .seed(static_cast<uint64_t>(o[8]));
  classes_ = std::move(classes);
  dims_ = static_cast<size_t>(dims);
  booster_ = std::move(b);
  fitted_ = true;
}

OptionSchema<GradientBoostingOptions> gradient_boosting_options() {
  return OptionSchema<GradientBoostingOptions>()
      .integer("rounds", 1, 1e6, "boosting rounds (n_estimators)", DYNFAULT_OPTION_FIELD(rounds))
      .integer("max_depth", 1, 64, "deepest split level of a tree",
               DYNFAULT_OPTION_FIELD(max_depth))
      .real("eta", 1e-12, 1, "learning rate (XGBoost's eta)", DYNFAULT_OPTION_FIELD(eta))
      .real("subsample", 1e-12, 1, "share of rows per tree (1 = all, no seed drawn)",
            DYNFAULT_OPTION_FIELD(subsample))
      .real("colsample", 1e-12, 1, "share of columns per tree (colsample_bytree)",
            DYNFAULT_OPTION_FIELD(colsample))
      .real("min_child_weight", 0, 1e12, "least hessian weight in a child",
            DYNFAULT_OPTION_FIELD(min_child_weight))
      .real("lambda", 0, 1e12, "L2 on leaf weights", DYNFAULT_OPTION_FIELD(lambda));
}

DYNFAULT_REGISTER(diagnoser_registry(), "gradient_boosting",
                  diagnoser_entry<GradientBoosting>(gradient_boosting_options()));

}  // namespace dynfault::diagnosis
