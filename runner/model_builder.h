#pragma once
/// Recipe -> torch module. Layers never store input sizes: the builder propagates the data set's
/// per-sample shape through the layer list, so a mutator that changes one layer's width keeps
/// the whole model consistent.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "programs/recipe.h"

namespace dynfault::runner {

/// Per-sample shape (no batch dimension), e.g. {1, 28, 28}.
using Shape = std::vector<int64_t>;

/// The trainer's view of a model: one batch tensor in, one batch tensor out.
class NetImpl : public torch::nn::Module {
 public:
  using torch::nn::Module::Module;
  /// Maps a batch {N, sample_shape...} to the outputs {N, output_shape...}.
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

/// An activation function as a module, so that probes can find every activation by type
/// (`dynamic_cast<ActivationImpl*>` over `named_modules()`) and read which one it is from
/// `kind()`; its module name is "dynfault::Activation(<kind>)".
///
/// Kinds (Recipe act names): relu, leaky_relu (slope 0.01 as LibTorch), elu, selu, gelu, sigmoid,
/// tanh, softplus, softsign, softmax and log_softmax (over dim 1), hard_sigmoid
/// (torch::hardsigmoid), exponential, linear (identity).
///
/// It is also the activation probe's capture point (LibTorch modules have no forward hooks):
/// while a capture is set, forward() hands it the pre-activation input and the output of each
/// call, so the probe sees both without extra modules (which would shift the `layers.<i>`
/// parameter names). The trainer sets captures only during its probe forward pass; otherwise
/// the cost is one test of an empty std::function.
class ActivationImpl : public torch::nn::Module {
 public:
  /// Receives (pre-activation input, output) of one forward call.
  using Capture = std::function<void(const torch::Tensor& input, const torch::Tensor& output)>;

  /// Throws dynfault::Error for an unknown name.
  explicit ActivationImpl(const std::string& kind);
  torch::Tensor forward(const torch::Tensor& x);
  const std::string& kind() const { return kind_; }
  /// Sets (or, with an empty function, clears) the capture.
  void set_capture(Capture capture) { capture_ = std::move(capture); }

 private:
  torch::Tensor activate(const torch::Tensor& x);

  std::string kind_;
  int code_;
  Capture capture_;
};
TORCH_MODULE(Activation);

/// The model built from a plain layer list: a `torch::nn::Sequential` registered as "layers", so
/// parameter names read `layers.<index>.<name>` (e.g. `layers.0.weight`).
class SequentialNetImpl : public NetImpl {
 public:
  explicit SequentialNetImpl(torch::nn::Sequential layers);
  torch::Tensor forward(const torch::Tensor& x) override;
  torch::nn::Sequential layers;
};

/// A built model and the per-sample shape of its output.
struct BuiltModel {
  std::shared_ptr<NetImpl> net;
  Shape output_shape;
};

/// A custom model builder (for architectures a layer list cannot express). It must honour the
/// Recipe's activation, init and bias settings so that mutators keep working on it.
using ModelBuilderFn = std::function<BuiltModel(const programs::Recipe& recipe,
                                                const Shape& sample_shape, bool integer_inputs)>;

/// Registers a custom builder under `name` (Recipe::builder); throws on a duplicate.
bool register_model_builder(const std::string& name, ModelBuilderFn fn);

/// Throws dynfault::Error when a layer type or activation name in `layers` (residual bodies
/// included) is unknown: a malformed recipe, as opposed to one whose shapes do not fit.
void validate_layers(const std::vector<programs::Layer>& layers);

/// Builds the model of `recipe` for samples of `sample_shape` and applies recipe.init. Throws
/// dynfault::Error naming the layer index and type when a layer does not fit its input shape
/// (e.g. a kernel larger than its feature map after a mutation).
BuiltModel build_model(const programs::Recipe& recipe, const Shape& sample_shape,
                       bool integer_inputs = false);

/// Builds the sequential layer list alone (used by build_model; custom builders may reuse it).
/// `shape` is the input shape on entry and the output shape on return.
torch::nn::Sequential build_layers(const std::vector<programs::Layer>& layers, Shape& shape,
                                   bool integer_inputs);

/// Re-initialises the weights of every linear, convolution (transposed too) and embedding layer
/// in `module`. An embedding table {vocab, dim} counts as a weight with fan_in dim and fan_out
/// vocab, so xavier_uniform gives about Keras' uniform(-0.05, 0.05) embeddings for the usual
/// sizes (LibTorch's default is N(0, 1)).
///
/// `init` names: default (leave LibTorch's initialisation), zeros, ones, constant (value =
/// scale), normal (std = scale), uniform (bound = scale), truncated_normal (std = scale, cut at
/// 2 std as Keras), and the variance-scaling ones where scale multiplies the gain: xavier_uniform,
/// xavier_normal, kaiming_uniform, kaiming_normal (ReLU gain), orthogonal, lecun_normal (Keras:
/// truncated normal, std sqrt(1/fan_in)), lecun_uniform (bound sqrt(3/fan_in)). Any init other
/// than default sets biases to zero, as Keras' bias_initializer does. Throws for unknown names.
void apply_init(torch::nn::Module& module, const std::string& init, double scale);

/// Known initialiser names (for validation).
bool is_known_init(const std::string& init);

}  // namespace dynfault::runner
