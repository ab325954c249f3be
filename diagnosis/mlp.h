#pragma once
/// A one-hidden-layer perceptron classifier, written here in plain C++ (no LibTorch: the
/// diagnosis library stays torch-free and light). Modelled on scikit-learn's MLPClassifier:
/// ReLU hidden layer, softmax output, cross-entropy with an L2 penalty alpha, Adam on
/// mini-batches, Glorot-uniform initialisation, stop when the training loss has not improved by
/// `tol` for `patience` epochs. Weights, activations and Adam state are single precision (as
/// PyTorch's default): the kernels then take eight lanes per AVX register instead of four.
#include <cstdint>
#include <string>
#include <vector>

#include "common/check.h"
#include "diagnosis/diagnoser.h"
#include "diagnosis/preprocess.h"

namespace dynfault::diagnosis {

/// Options of Mlp.
///
/// Example:
///   Mlp mlp(MlpOptions().hidden(64).alpha(1.0));  // DeepFD's MLP used alpha = 1
struct MlpOptions {
  DYNFAULT_ARG(int, hidden) = 16;              ///< hidden units
  DYNFAULT_ARG(double, alpha) = 1e-4;          ///< L2 penalty (scikit-learn's default)
  DYNFAULT_ARG(double, learning_rate) = 1e-2;  ///< Adam step
  DYNFAULT_ARG(int, batch_size) = 256;
  DYNFAULT_ARG(int, max_epochs) = 40;
  DYNFAULT_ARG(double, tol) = 1e-4;  ///< minimal improvement of the epoch loss
  DYNFAULT_ARG(int, patience) = 4;   ///< epochs without improvement before stopping
  DYNFAULT_ARG(uint64_t, seed) = 0;  ///< initialisation and batch order
};

/// See the header comment. Inputs: median-imputed, winsorised (1 %), standardised on the
/// training fold (preprocess.h). Deterministic for a given seed. The defaults are smaller than
/// scikit-learn's (100 units, 200 epochs): the evaluation fits it once per fold, thousands of
/// times, and on the benchmark corpus this size is within 0.01 balanced accuracy of larger ones.
class Mlp : public Diagnoser {
 public:
  explicit Mlp(MlpOptions options = {});
  void fit(const Matrix& x, const Labels& y) override;
  Labels predict(const Matrix& x) const override;
  Matrix predict_proba(const Matrix& x) const override;
  const std::vector<std::string>& classes() const override { return classes_; }
  std::string name() const override { return "mlp"; }
  void configure(const LearnerSettings& settings) override { options_.seed(settings.seed); }
  bool seeded() const override { return true; }
  void save(std::ostream& out) const override;
  void load(std::istream& in) override;

  /// Epochs run by the last fit.
  int epochs() const { return epochs_; }

 private:
  MlpOptions options_;
  std::vector<std::string> classes_;
  size_t dims_ = 0;
  Scaler scaler_;
  std::vector<float> w1_, b1_, w2_, b2_;  // d x h, h, h x K, K (row-major)
  int epochs_ = 0;
  bool fitted_ = false;
};

}  // namespace dynfault::diagnosis
