#include "runner/model_builder.h"

#include <torch/torch.h>

#include <cmath>
#include <map>
#include <sstream>

#include "common/check.h"

namespace dynfault::runner {

using programs::Layer;
using programs::Recipe;

namespace {

// --- activations ------------------------------------------------------------------------------

enum ActCode {
  kRelu,
  kLeakyRelu,
  kElu,
  kSelu,
  kGelu,
  kSigmoid,
  kTanh,
  kSoftplus,
  kSoftsign,
  kSoftmax,
  kLogSoftmax,
  kHardSigmoid,
  kExponential,
  kLinear
};

const std::map<std::string, int>& activation_codes() {
  static const std::map<std::string, int> codes = {{"relu", kRelu},
                                                   {"leaky_relu", kLeakyRelu},
                                                   {"elu", kElu},
                                                   {"selu", kSelu},
                                                   {"gelu", kGelu},
                                                   {"sigmoid", kSigmoid},
                                                   {"tanh", kTanh},
                                                   {"softplus", kSoftplus},
                                                   {"softsign", kSoftsign},
                                                   {"softmax", kSoftmax},
                                                   {"log_softmax", kLogSoftmax},
                                                   {"hard_sigmoid", kHardSigmoid},
                                                   {"exponential", kExponential},
                                                   {"linear", kLinear}};
  return codes;
}

int activation_code(const std::string& kind) {
  auto it = activation_codes().find(kind);
  if (it == activation_codes().end()) {
    std::string known;
    for (const auto& kv : activation_codes()) known += (known.empty() ? "" : ", ") + kv.first;
    throw Error("unknown activation '" + kind + "' (known: " + known + ")");
  }
  return it->second;
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << '{';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << '}';
  return os.str();
}

// --- wrappers for layers whose LibTorch module is not tensor -> tensor -------------------------

/// RNN/LSTM/GRU with batch_first inputs {N, T, F}; returns the last step {N, H} or all steps.
class RecurrentImpl : public torch::nn::Module {
 public:
  RecurrentImpl(const std::string& cell, int64_t input, int64_t hidden, int64_t num_layers,
                bool bias, bool last_step)
      : torch::nn::Module("dynfault::Recurrent(" + cell + ")"), last_step_(last_step) {
    if (cell == "lstm") {
      lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(input, hidden)
                                                          .num_layers(num_layers)
                                                          .bias(bias)
                                                          .batch_first(true)));
    } else if (cell == "gru") {
      gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(input, hidden)
                                                       .num_layers(num_layers)
                                                       .bias(bias)
                                                       .batch_first(true)));
    } else {
      rnn_ = register_module("rnn", torch::nn::RNN(torch::nn::RNNOptions(input, hidden)
                                                       .num_layers(num_layers)
                                                       .bias(bias)
                                                       .batch_first(true)));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    if (x.dim() == 2) x = x.unsqueeze(-1);  // {N, T} scalar sequences
    torch::Tensor out;
    if (lstm_) {
      out = std::get<0>(lstm_->forward(x));
    } else if (gru_) {
      out = std::get<0>(gru_->forward(x));
    } else {
      out = std::get<0>(rnn_->forward(x));
    }
    return last_step_ ? out.select(1, -1) : out;
  }

 private:
  bool last_step_;
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::RNN rnn_{nullptr};
};
TORCH_MODULE(Recurrent);

/// y = act(body(x) + shortcut(x)); the shortcut is the identity when shapes agree.
class ResidualImpl : public torch::nn::Module {
 public:
  ResidualImpl(torch::nn::Sequential body, torch::nn::AnyModule shortcut, const std::string& act)
      : torch::nn::Module("dynfault::Residual"),
        body_(register_module("body", std::move(body))),
        act_(register_module("act", Activation(act))) {
    if (!shortcut.is_empty()) {
      shortcut_ = std::move(shortcut);
      register_module("shortcut", shortcut_.ptr());
    }
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor skip = shortcut_.is_empty() ? x : shortcut_.forward(x);
    return act_->forward(body_->forward(x) + skip);
  }

 private:
  torch::nn::Sequential body_;
  torch::nn::AnyModule shortcut_;
  Activation act_;
};
TORCH_MODULE(Residual);

/// Embedding lookups need int64 indices; inputs arrive as whatever the trainer stored.
class TokenEmbeddingImpl : public torch::nn::Module {
 public:
  TokenEmbeddingImpl(int64_t vocab, int64_t dim)
      : torch::nn::Module("dynfault::TokenEmbedding"),
        embedding_(register_module("embedding", torch::nn::Embedding(vocab, dim))) {}
  torch::Tensor forward(const torch::Tensor& x) { return embedding_->forward(x.to(torch::kLong)); }

 private:
  torch::nn::Embedding embedding_;
};
TORCH_MODULE(TokenEmbedding);

// --- shape propagation ---------------------------------------------------------------------------

int64_t conv_out(int64_t in, int64_t kernel, int64_t stride, int64_t padding) {
  return (in + 2 * padding - kernel) / stride + 1;
}

struct LayerContext {
  size_t index;
  const Layer& layer;
  std::string where() const { return "layer " + std::to_string(index) + " (" + layer.type + ")"; }
};

void require_rank(const LayerContext& c, const Shape& s, size_t rank, const char* expected) {
  DYNFAULT_CHECK(s.size() == rank, "build_model(): ", c.where(), " expects input ", expected,
                 ", got shape ", shape_str(s));
}

void require_positive(const LayerContext& c, int64_t v, const char* field) {
  DYNFAULT_CHECK(v > 0, "build_model(): ", c.where(), ": ", field, " must be > 0, got ", v);
}

torch::nn::AnyModule make_layer(const LayerContext& c, Shape& s, bool& integer_inputs);

torch::nn::AnyModule make_conv(const LayerContext& c, Shape& s, int dims) {
  const Layer& l = c.layer;
  require_rank(c, s, static_cast<size_t>(dims) + 1, dims == 1 ? "{C, L}" : "{C, H, W}");
  require_positive(c, l.out, "out");
  require_positive(c, l.kernel, "kernel");
  const int64_t stride = l.stride == 0 ? 1 : l.stride;
  require_positive(c, stride, "stride");
  DYNFAULT_CHECK(l.padding >= 0, "build_model(): ", c.where(), ": padding must be >= 0");
  Shape out{l.out};
  for (size_t d = 1; d < s.size(); ++d) {
    const int64_t o = conv_out(s[d], l.kernel, stride, l.padding);
    DYNFAULT_CHECK(o >= 1, "build_model(): ", c.where(), ": kernel ", l.kernel,
                   " does not fit input shape ", shape_str(s));
    out.push_back(o);
  }
  torch::nn::AnyModule m;
  if (dims == 1) {
    m = torch::nn::AnyModule(torch::nn::Conv1d(torch::nn::Conv1dOptions(s[0], l.out, l.kernel)
                                                   .stride(stride)
                                                   .padding(l.padding)
                                                   .bias(l.bias)));
  } else {
    m = torch::nn::AnyModule(torch::nn::Conv2d(torch::nn::Conv2dOptions(s[0], l.out, l.kernel)
                                                   .stride(stride)
                                                   .padding(l.padding)
                                                   .bias(l.bias)));
  }
  s = out;
  return m;
}

torch::nn::AnyModule make_pool(const LayerContext& c, Shape& s, int dims, bool max) {
  const Layer& l = c.layer;
  require_rank(c, s, static_cast<size_t>(dims) + 1, dims == 1 ? "{C, L}" : "{C, H, W}");
  require_positive(c, l.kernel, "kernel");
  const int64_t stride = l.stride == 0 ? l.kernel : l.stride;
  require_positive(c, stride, "stride");
  Shape out{s[0]};
  for (size_t d = 1; d < s.size(); ++d) {
    const int64_t o = conv_out(s[d], l.kernel, stride, 0);
    DYNFAULT_CHECK(o >= 1, "build_model(): ", c.where(), ": kernel ", l.kernel,
                   " does not fit input shape ", shape_str(s));
    out.push_back(o);
  }
  s = out;
  if (dims == 1)
    return torch::nn::AnyModule(
        torch::nn::MaxPool1d(torch::nn::MaxPool1dOptions(l.kernel).stride(stride)));
  if (max)
    return torch::nn::AnyModule(
        torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(l.kernel).stride(stride)));
  return torch::nn::AnyModule(
      torch::nn::AvgPool2d(torch::nn::AvgPool2dOptions(l.kernel).stride(stride)));
}

torch::nn::AnyModule make_residual(const LayerContext& c, Shape& s, bool& integer_inputs) {
  const Layer& l = c.layer;
  DYNFAULT_CHECK(!l.body.empty(), "build_model(): ", c.where(), ": empty residual body");
  Shape body_shape = s;
  torch::nn::Sequential body = build_layers(l.body, body_shape, integer_inputs);
  torch::nn::AnyModule shortcut;
  if (body_shape != s) {
    // Projection shortcut as in ResNet: 1x1 convolution (with the stride that matches the spatial
    // size) for images, a linear map for vectors.
    if (s.size() == 3 && body_shape.size() == 3 && s[1] % body_shape[1] == 0 &&
        s[2] % body_shape[2] == 0 && s[1] / body_shape[1] == s[2] / body_shape[2]) {
      const int64_t stride = s[1] / body_shape[1];
      shortcut = torch::nn::AnyModule(torch::nn::Conv2d(
          torch::nn::Conv2dOptions(s[0], body_shape[0], 1).stride(stride).bias(false)));
    } else if (s.size() == 1 && body_shape.size() == 1) {
      shortcut = torch::nn::AnyModule(
          torch::nn::Linear(torch::nn::LinearOptions(s[0], body_shape[0]).bias(false)));
    } else {
      throw Error("build_model(): " + c.where() + ": body maps " + shape_str(s) + " to " +
                  shape_str(body_shape) + ", which no 1x1 convolution or linear shortcut matches");
    }
  }
  s = body_shape;
  return torch::nn::AnyModule(Residual(body, std::move(shortcut), l.act.empty() ? "relu" : l.act));
}

// --- decoder and sequence-layout layers (autoencoders, Keras Conv1D on embeddings) ------------

/// {A, B} -> {B, A} per sample.
class TransposeImpl : public torch::nn::Module {
 public:
  TransposeImpl() : torch::nn::Module("dynfault::Transpose") {}
  torch::Tensor forward(const torch::Tensor& x) { return x.transpose(1, 2); }
};
TORCH_MODULE(Transpose);

bool is_extra_layer(const std::string& type) {
  return type == "conv_transpose2d" || type == "unflatten" || type == "transpose";
}

/// conv_transpose2d, unflatten and transpose (see programs/recipe.h for their shapes).
torch::nn::AnyModule make_extra_layer(const LayerContext& c, Shape& s) {
  const Layer& l = c.layer;
  if (l.type == "transpose") {
    require_rank(c, s, 2, "{A, B}");
    s = {s[1], s[0]};
    return torch::nn::AnyModule(Transpose());
  }
  if (l.type == "unflatten") {
    require_rank(c, s, 1, "{F}");
    require_positive(c, l.out, "out (channels)");
    // Whole features per map: a remainder means the maps are not square, which the check
    // below reports.
    const int64_t per_map = s[0] / std::max<int64_t>(l.out, 1);
    const auto side = static_cast<int64_t>(std::llround(std::sqrt(static_cast<double>(per_map))));
    DYNFAULT_CHECK(side * side * l.out == s[0], "build_model(): ", c.where(), ": ", s[0],
                   " features are not ", l.out, " square maps");
    s = {l.out, side, side};
    return torch::nn::AnyModule(
        torch::nn::Unflatten(torch::nn::UnflattenOptions(1, {l.out, side, side})));
  }
  require_rank(c, s, 3, "{C, H, W}");
  require_positive(c, l.out, "out");
  require_positive(c, l.kernel, "kernel");
  const int64_t stride = l.stride == 0 ? 1 : l.stride;
  require_positive(c, stride, "stride");
  DYNFAULT_CHECK(l.padding >= 0, "build_model(): ", c.where(), ": padding must be >= 0");
  // output_padding = stride - 1 makes padding (kernel - 1) / 2 give Keras' "same" size.
  Shape out{l.out};
  for (size_t d = 1; d < s.size(); ++d) {
    const int64_t o = (s[d] - 1) * stride - 2 * l.padding + l.kernel + stride - 1;
    DYNFAULT_CHECK(o >= 1, "build_model(): ", c.where(), ": padding ", l.padding,
                   " leaves no output for input shape ", shape_str(s));
    out.push_back(o);
  }
  torch::nn::ConvTranspose2d m(torch::nn::ConvTranspose2dOptions(s[0], l.out, l.kernel)
                                   .stride(stride)
                                   .padding(l.padding)
                                   .output_padding(stride - 1)
                                   .bias(l.bias));
  s = out;
  return torch::nn::AnyModule(m);
}

torch::nn::AnyModule make_layer(const LayerContext& c, Shape& s, bool& integer_inputs) {
  const Layer& l = c.layer;
  const std::string& t = l.type;
  DYNFAULT_CHECK(!integer_inputs || t == "embedding", "build_model(): ", c.where(),
                 " receives token ids; the first layer for integer inputs must be embedding");
  if (t == "linear") {
    DYNFAULT_CHECK(!s.empty(), "build_model(): ", c.where(), " needs an input of rank >= 1");
    require_positive(c, l.out, "out");
    torch::nn::Linear m(torch::nn::LinearOptions(s.back(), l.out).bias(l.bias));
    s.back() = l.out;
    return torch::nn::AnyModule(m);
  }
  if (t == "conv1d") return make_conv(c, s, 1);
  if (t == "conv2d") return make_conv(c, s, 2);
  if (t == "maxpool1d") return make_pool(c, s, 1, true);
  if (t == "maxpool2d") return make_pool(c, s, 2, true);
  if (t == "avgpool2d") return make_pool(c, s, 2, false);
  if (t == "adaptive_avgpool2d") {
    require_rank(c, s, 3, "{C, H, W}");
    require_positive(c, l.out, "out");
    s = {s[0], l.out, l.out};
    return torch::nn::AnyModule(torch::nn::AdaptiveAvgPool2d(l.out));
  }
  if (t == "batchnorm") {
    DYNFAULT_CHECK(s.size() >= 1 && s.size() <= 3, "build_model(): ", c.where(),
                   " needs an input {F}, {C, L} or {C, H, W}, got ", shape_str(s));
    if (s.size() == 3) return torch::nn::AnyModule(torch::nn::BatchNorm2d(s[0]));
    return torch::nn::AnyModule(torch::nn::BatchNorm1d(s[0]));
  }
  if (t == "dropout") {
    DYNFAULT_CHECK(l.p >= 0 && l.p <= 1, "build_model(): ", c.where(),
                   ": p must be in [0, 1], got ", l.p);
    return torch::nn::AnyModule(torch::nn::Dropout(l.p));
  }
  if (t == "flatten") {
    int64_t n = 1;
    for (int64_t d : s) n *= d;
    s = {n};
    return torch::nn::AnyModule(torch::nn::Flatten());
  }
  if (t == "embedding") {
    DYNFAULT_CHECK(integer_inputs, "build_model(): ", c.where(),
                   " needs token-id inputs; this data set holds real values");
    require_rank(c, s, 1, "{T} token ids");
    require_positive(c, l.vocab, "vocab");
    require_positive(c, l.out, "out (embedding dim)");
    s = {s[0], l.out};
    integer_inputs = false;
    return torch::nn::AnyModule(TokenEmbedding(l.vocab, l.out));
  }
  if (t == "rnn" || t == "lstm" || t == "gru") {
    if (s.size() == 1) s = {s[0], 1};
    require_rank(c, s, 2, "{T, F}");
    require_positive(c, l.out, "out (hidden size)");
    require_positive(c, l.num_layers, "num_layers");
    Recurrent m(t, s[1], l.out, l.num_layers, l.bias, l.last_step);
    s = l.last_step ? Shape{l.out} : Shape{s[0], l.out};
    return torch::nn::AnyModule(m);
  }
  if (t == "act") return torch::nn::AnyModule(Activation(l.act));
  if (t == "residual") return make_residual(c, s, integer_inputs);
  if (is_extra_layer(t)) return make_extra_layer(c, s);
  throw Error("build_model(): " + c.where() +
              ": unknown layer type (known: linear, conv1d, conv2d, maxpool1d, maxpool2d, "
              "avgpool2d, adaptive_avgpool2d, batchnorm, dropout, flatten, embedding, rnn, lstm, "
              "gru, act, residual, conv_transpose2d, unflatten, transpose)");
}

// --- initialisation ------------------------------------------------------------------------------

constexpr double kTruncatedNormalCut = 2.0;  // Keras truncates at 2 standard deviations
// std of a unit normal truncated to [-2, 2]; Keras divides by it so the truncated draw keeps
// the intended variance (VarianceScaling with distribution="truncated_normal").
constexpr double kTruncatedStdCorrection = 0.87962566103423978;

/// Fills `w` from N(0, std^2) truncated to [-2 std, 2 std], by the inverse-CDF method PyTorch's
/// torch.nn.init.trunc_normal_ uses (no rejection loop, so the number of draws is fixed).
void fill_truncated_normal(const torch::Tensor& w, double std) {
  torch::NoGradGuard no_grad;
  auto norm_cdf = [](double x) { return (1.0 + std::erf(x / std::sqrt(2.0))) / 2.0; };
  const double lo = norm_cdf(-kTruncatedNormalCut);
  const double hi = norm_cdf(kTruncatedNormalCut);
  w.uniform_(2 * lo - 1, 2 * hi - 1);
  w.erfinv_();
  w.mul_(std * std::sqrt(2.0));
  w.clamp_(-kTruncatedNormalCut * std, kTruncatedNormalCut * std);
}

void init_weight(const torch::Tensor& w, const std::string& init, double scale) {
  namespace init_ns = torch::nn::init;
  torch::NoGradGuard no_grad;
  const int64_t fan_in = std::get<0>(init_ns::_calculate_fan_in_and_fan_out(w));
  if (init == "zeros") {
    init_ns::zeros_(w);
  } else if (init == "ones") {
    init_ns::ones_(w);
  } else if (init == "constant") {
    init_ns::constant_(w, scale);
  } else if (init == "normal") {
    init_ns::normal_(w, 0.0, scale);
  } else if (init == "uniform") {
    init_ns::uniform_(w, -scale, scale);
  } else if (init == "truncated_normal") {
    fill_truncated_normal(w, scale);
  } else if (init == "xavier_uniform") {
    init_ns::xavier_uniform_(w, scale);
  } else if (init == "xavier_normal") {
    init_ns::xavier_normal_(w, scale);
  } else if (init == "kaiming_uniform") {
    init_ns::kaiming_uniform_(w, 0.0, torch::kFanIn, torch::kReLU);
    w.mul_(scale);
  } else if (init == "kaiming_normal") {
    init_ns::kaiming_normal_(w, 0.0, torch::kFanIn, torch::kReLU);
    w.mul_(scale);
  } else if (init == "orthogonal") {
    init_ns::orthogonal_(w, scale);
  } else if (init == "lecun_normal") {
    fill_truncated_normal(
        w, scale * std::sqrt(1.0 / static_cast<double>(fan_in)) / kTruncatedStdCorrection);
  } else if (init == "lecun_uniform") {
    const double bound = scale * std::sqrt(3.0 / static_cast<double>(fan_in));
    init_ns::uniform_(w, -bound, bound);
  } else {
    throw Error("apply_init(): unknown init '" + init + "'");
  }
}

std::map<std::string, ModelBuilderFn>& builders() {
  static std::map<std::string, ModelBuilderFn> t;
  return t;
}

}  // namespace

// --- public --------------------------------------------------------------------------------------

ActivationImpl::ActivationImpl(const std::string& kind)
    : torch::nn::Module("dynfault::Activation(" + kind + ")"),
      kind_(kind),
      code_(activation_code(kind)) {}

torch::Tensor ActivationImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = activate(x);
  if (capture_) capture_(x, y);
  return y;
}

torch::Tensor ActivationImpl::activate(const torch::Tensor& x) {
  switch (code_) {
    case kRelu:
      return torch::relu(x);
    case kLeakyRelu:
      return torch::leaky_relu(x, 0.01);
    case kElu:
      return torch::elu(x);
    case kSelu:
      return torch::selu(x);
    case kGelu:
      return torch::gelu(x);
    case kSigmoid:
      return torch::sigmoid(x);
    case kTanh:
      return torch::tanh(x);
    case kSoftplus:
      return torch::softplus(x);
    case kSoftsign:
      return x / (1 + x.abs());
    case kSoftmax:
      return torch::softmax(x, 1);
    case kLogSoftmax:
      return torch::log_softmax(x, 1);
    case kHardSigmoid:
      return torch::hardsigmoid(x);
    case kExponential:
      return torch::exp(x);
    default:
      return x;  // linear
  }
}

SequentialNetImpl::SequentialNetImpl(torch::nn::Sequential seq)
    : NetImpl("dynfault::SequentialNet"), layers(register_module("layers", std::move(seq))) {}

torch::Tensor SequentialNetImpl::forward(const torch::Tensor& x) { return layers->forward(x); }

torch::nn::Sequential build_layers(const std::vector<Layer>& layers, Shape& shape,
                                   bool integer_inputs) {
  torch::nn::Sequential seq;
  for (size_t i = 0; i < layers.size(); ++i) {
    const LayerContext c{i, layers[i]};
    seq->push_back(make_layer(c, shape, integer_inputs));
  }
  return seq;
}

void validate_layers(const std::vector<Layer>& layers) {
  static const char* const kTypes[] = {"linear",
                                       "conv1d",
                                       "conv2d",
                                       "maxpool1d",
                                       "maxpool2d",
                                       "avgpool2d",
                                       "adaptive_avgpool2d",
                                       "batchnorm",
                                       "dropout",
                                       "flatten",
                                       "embedding",
                                       "rnn",
                                       "lstm",
                                       "gru",
                                       "act",
                                       "residual",
                                       "conv_transpose2d",
                                       "unflatten",
                                       "transpose"};
  for (size_t i = 0; i < layers.size(); ++i) {
    const Layer& l = layers[i];
    bool known = false;
    for (const char* t : kTypes) known = known || l.type == t;
    DYNFAULT_CHECK(known, "layer ", i, ": unknown layer type '", l.type, "'");
    if (l.type == "act") activation_code(l.act);
    if (l.type == "residual") {
      if (!l.act.empty()) activation_code(l.act);
      validate_layers(l.body);
    }
  }
}

bool register_model_builder(const std::string& name, ModelBuilderFn fn) {
  DYNFAULT_CHECK(name != "sequential" && builders().emplace(name, std::move(fn)).second,
                 "register_model_builder(): duplicate model builder '", name, "'");
  return true;
}

BuiltModel build_model(const Recipe& recipe, const Shape& sample_shape, bool integer_inputs) {
  DYNFAULT_CHECK(is_known_init(recipe.init), "build_model(): unknown init '", recipe.init,
                 "' in program '", recipe.program, "'");
  BuiltModel built;
  try {
    if (recipe.builder == "sequential") {
      DYNFAULT_CHECK(!recipe.layers.empty(), "build_model(): program '", recipe.program,
                     "' has no layers");
      Shape shape = sample_shape;
      torch::nn::Sequential seq = build_layers(recipe.layers, shape, integer_inputs);
      built.net = std::make_shared<SequentialNetImpl>(std::move(seq));
      built.output_shape = shape;
    } else {
      auto it = builders().find(recipe.builder);
      DYNFAULT_CHECK(it != builders().end(), "build_model(): unknown model builder '",
                     recipe.builder, "' in program '", recipe.program, "'");
      built = it->second(recipe, sample_shape, integer_inputs);
    }
  } catch (const c10::Error& e) {
    // LibTorch rejected module options: that is a recipe problem, reported like ours.
    throw Error("build_model(): program '" + recipe.program + "': " + e.what_without_backtrace());
  }
  apply_init(*built.net, recipe.init, recipe.init_scale);
  return built;
}

bool is_known_init(const std::string& init) {
  static const char* const kNames[] = {"default",          "zeros",          "ones",
                                       "constant",         "normal",         "uniform",
                                       "truncated_normal", "xavier_uniform", "xavier_normal",
                                       "kaiming_uniform",  "kaiming_normal", "orthogonal",
                                       "lecun_normal",     "lecun_uniform"};
  for (const char* n : kNames)
    if (init == n) return true;
  return false;
}

void apply_init(torch::nn::Module& module, const std::string& init, double scale) {
  DYNFAULT_CHECK(is_known_init(init), "apply_init(): unknown init '", init, "'");
  if (init == "default") return;
  torch::NoGradGuard no_grad;
  for (const auto& m : module.modules(/*include_self=*/true)) {
    torch::Tensor weight, bias;
    if (auto* lin = dynamic_cast<torch::nn::LinearImpl*>(m.get())) {
      weight = lin->weight;
      bias = lin->bias;
    } else if (auto* c1 = dynamic_cast<torch::nn::Conv1dImpl*>(m.get())) {
      weight = c1->weight;
      bias = c1->bias;
    } else if (auto* c2 = dynamic_cast<torch::nn::Conv2dImpl*>(m.get())) {
      weight = c2->weight;
      bias = c2->bias;
    } else if (auto* t2 = dynamic_cast<torch::nn::ConvTranspose2dImpl*>(m.get())) {
      weight = t2->weight;
      bias = t2->bias;
    } else if (auto* e = dynamic_cast<torch::nn::EmbeddingImpl*>(m.get())) {
      weight = e->weight;  // no bias
    } else {
      continue;
    }
    init_weight(weight, init, scale);
    if (bias.defined()) bias.zero_();
  }
}

}  // namespace dynfault::runner
