#pragma once
/// The Recipe: everything that defines one training program, as plain data.
///
/// A program (programs/*.cpp) returns a Recipe; a mutator (mutators/*.cpp) is a pure function
/// Recipe -> Recipe; the runner turns a Recipe into modules, data and a training loop. The Recipe
/// is torch-free and serialises to canonical JSON (sorted keys, shortest round-trip doubles), which
/// is stored with every run so that any trace can be replayed exactly.
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace dynfault::programs {

using Json = nlohmann::json;

/// One entry of the layer list. Input sizes are never stored: the model builder infers them by
/// propagating the data set's sample shape, so a mutator that changes `out` of one layer keeps the
/// whole model consistent.
///
/// Types and the fields they read:
///   linear{out, bias}            conv1d/conv2d{out, kernel, stride, padding, bias}
///   maxpool1d/maxpool2d/avgpool2d{kernel, stride}   adaptive_avgpool2d{out}
///   batchnorm (1d or 2d chosen from the input rank)  dropout{p}  flatten
///   embedding{out (dim), vocab}  rnn/lstm/gru{out (hidden), num_layers; last_step}
///   act{act}: relu, leaky_relu, elu, selu, gelu, sigmoid, tanh, softplus, softsign, softmax,
///             log_softmax, hard_sigmoid, exponential, linear
///   residual{body}: y = act(body(x) + shortcut(x)); the shortcut is a 1x1 conv / linear when the
///             shapes differ.
///   conv_transpose2d{out, kernel, stride, padding, bias}: output size (in - 1) * stride -
///             2 * padding + kernel + (stride - 1), i.e. Keras' padding="same" (in * stride) when
///             padding = (kernel - 1) / 2 for an odd kernel (decoders of autoencoders)
///   unflatten{out}: {F} -> {out, H, W} with square maps H = W = sqrt(F / out) (Keras Reshape
///             between a dense bottleneck and a convolutional decoder)
///   transpose: {A, B} -> {B, A}; turns an embedding's {T, E} into the {C = E, L = T} a conv1d
///             reads and back (Keras' Conv1D works on (steps, channels))
struct Layer {
  std::string type;
  int64_t out = 0;
  int64_t kernel = 0;
  int64_t stride = 0;  ///< 0 = the type's default (1 for conv, kernel for pooling)
  int64_t padding = 0;
  int64_t num_layers = 1;
  int64_t vocab = 0;
  double p = 0.0;
  std::string act;
  bool bias = true;
  bool last_step = true;    ///< RNNs: keep only the last time step's output
  std::vector<Layer> body;  ///< residual blocks only

  bool operator==(const Layer& o) const;
};

/// Convenience constructors used by program definitions.
Layer Linear(int64_t out, bool bias = true);
Layer Conv1d(int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
Layer Conv2d(int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
Layer MaxPool1d(int64_t kernel, int64_t stride = 0);
Layer MaxPool2d(int64_t kernel, int64_t stride = 0);
Layer AvgPool2d(int64_t kernel, int64_t stride = 0);
Layer AdaptiveAvgPool2d(int64_t out);
Layer BatchNorm();
Layer Dropout(double p);
Layer Flatten();
Layer Embedding(int64_t vocab, int64_t dim);
Layer Rnn(const std::string& cell, int64_t hidden, int64_t num_layers = 1, bool last_step = true);
Layer Act(const std::string& name);
Layer Residual(std::vector<Layer> body);
Layer ConvTranspose2d(int64_t out, int64_t kernel, int64_t stride = 1, int64_t padding = 0);
Layer Unflatten(int64_t channels);
Layer Transpose();

/// Where the data come from and the data faults applied to them.
struct DataSpec {
  std::string name;           ///< loader id: fashion_mnist, iris, sine_sequence, ...
  int64_t train_limit = 0;    ///< deterministic subset of the training set (0 = all)
  int64_t test_limit = 0;     ///< held-back evaluation subset (0 = all)
  double val_fraction = 0.2;  ///< share of the training data used for validation (0 = none)
  bool normalize = true;      ///< standardise inputs (statistics from the training part)
  std::map<std::string, double> params;  ///< loader parameters (sequence length, noise, ...)
  // Data faults (applied by the runner's data pipeline, training part only).
  double label_noise = 0.0;      ///< share of training labels replaced by another class
  double delete_fraction = 0.0;  ///< share of training samples removed (class-balanced)
  double imbalance = 0.0;        ///< share of samples removed from the upper half of the classes
  double input_noise = 0.0;      ///< std of Gaussian noise added to training inputs
  double input_scale = 1.0;      ///< multiplier on inputs after normalisation (unnormalised data)
  // What the program expects the loader to deliver; load_data checks both when declared, so a
  // changed loader or loader parameter fails loudly instead of silently reshaping the model.
  std::vector<int64_t> sample_shape;  ///< declared shape of one input sample ({} = undeclared)
  int64_t num_classes = -1;           ///< declared class count, 0 = regression, -1 = undeclared

  bool operator==(const DataSpec& o) const;
};

/// Optimizer and its options. Names: sgd, adam, adamw, adagrad, rmsprop, adadelta, adamax, nadam.
struct OptimizerSpec {
  std::string name = "adam";
  double lr = 1e-3;
  double momentum = 0.0;
  bool nesterov = false;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;
  double rho = 0.9;  ///< RMSprop alpha / Adadelta rho

  bool operator==(const OptimizerSpec& o) const;
};

/// Learning-rate schedule: none, step (lr *= gamma every step_size epochs), exponential.
struct ScheduleSpec {
  std::string name = "none";
  int64_t step_size = 1;
  double gamma = 1.0;

  bool operator==(const ScheduleSpec& o) const;
};

/// Training-loop flags: faults of the loop itself are switches the trainer honours.
struct LoopSpec {
  bool zero_grad = true;        ///< false = gradients accumulate across steps
  bool train_mode = true;       ///< false = the model trains in eval mode (dropout/BN off)
  bool loss_sign_flip = false;  ///< true = the optimizer ascends the loss
  bool shuffle = true;          ///< reshuffle the training set every epoch

  bool operator==(const LoopSpec& o) const;
};

/// The record a mutator leaves: which operator, with which parameters, and what it changed.
struct FaultRecord {
  std::string mutator;
  std::string category;  ///< the mutator's fault category at plan time
  Json params = Json::object();
  std::string change;  ///< human-readable, e.g. "optimizer.lr: 0.001 -> 0.01"

  bool operator==(const FaultRecord& o) const;
};

/// Where a program comes from and what it must achieve.
struct Provenance {
  std::string source;               ///< repository and file, tutorial, book chapter or post
  std::string changes;              ///< what was changed to fit offline data and the time budget
  std::string metric = "accuracy";  ///< accuracy (classification) or r2 (regression)
  double satisfactory = 0.0;        ///< value of `metric` the clean run must reach
  /// Kind of data, for the catalogue's mix: image, tabular, sequence (time series and token
  /// sequences), text (bag-of-words stand-ins) or synthetic (2-D and polynomial classics).
  std::string kind;

  bool operator==(const Provenance& o) const;
};

/// A whole training program.
struct Recipe {
  std::string program;              ///< registry id
  std::string family = "mlp";       ///< mlp, cnn, rnn, autoencoder
  std::string task = "multiclass";  ///< multiclass, binary, regression
  Provenance provenance;
  DataSpec data;
  std::string builder = "sequential";  ///< model builder; custom builders register by name
  std::vector<Layer> layers;
  std::string init = "default";  ///< default (LibTorch's), or an initialiser name
  double init_scale = 1.0;       ///< std / bound / constant for normal, uniform, constant
  std::string loss = "cross_entropy";
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  int64_t batch_size = 32;  ///< 0 = the whole training set in one batch (DeepCrime HDB)
  int64_t epochs = 10;
  double l1 = 0.0;
  double l2 = 0.0;
  double clip_norm = 0.0;   ///< 0 = off
  double clip_value = 0.0;  ///< 0 = off
  int64_t patience = 0;     ///< early-stopping patience in epochs, 0 = off
  LoopSpec loop;
  std::vector<FaultRecord> faults;  ///< ground truth, appended by mutators in order

  bool operator==(const Recipe& o) const;

  /// Canonical JSON (sorted keys); to_json(from_json(j)) == j.
  Json to_json() const;
  static Recipe from_json(const Json& j);
  /// Canonical text: to_json().dump().
  std::string canonical() const;
};

/// Names of the loss functions and the task family each belongs to.
bool is_classification_loss(const std::string& loss);
bool is_regression_loss(const std::string& loss);

}  // namespace dynfault::programs
