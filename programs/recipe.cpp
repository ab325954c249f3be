#include "programs/recipe.h"

#include "common/check.h"

namespace dynfault::programs {

// The JSON mapping lists every field once; missing fields take their defaults so that recipes
// written by older versions still load, and to_json emits every field so the text is canonical.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Layer, type, out, kernel, stride, padding,
                                                num_layers, vocab, p, act, bias, last_step, body)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(DataSpec, name, train_limit, test_limit,
                                                val_fraction, normalize, params, label_noise,
                                                delete_fraction, imbalance, input_noise,
                                                input_scale, sample_shape, num_classes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(OptimizerSpec, name, lr, momentum, nesterov, beta1,
                                                beta2, eps, weight_decay, rho)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(ScheduleSpec, name, step_size, gamma)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LoopSpec, zero_grad, train_mode, loss_sign_flip,
                                                shuffle)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(FaultRecord, mutator, category, params, change)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Provenance, source, changes, metric, satisfactory,
                                                kind)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Recipe, program, family, task, provenance, data,
                                                builder, layers, init, init_scale, loss, optimizer,
                                                schedule, batch_size, epochs, l1, l2, clip_norm,
                                                clip_value, patience, loop, faults)

namespace {
template <typename T>
bool same(const T& a, const T& b) {
  Json ja = a, jb = b;
  return ja == jb;
}
}  // namespace

bool Layer::operator==(const Layer& o) const { return same(*this, o); }
bool DataSpec::operator==(const DataSpec& o) const { return same(*this, o); }
bool OptimizerSpec::operator==(const OptimizerSpec& o) const { return same(*this, o); }
bool ScheduleSpec::operator==(const ScheduleSpec& o) const { return same(*this, o); }
bool LoopSpec::operator==(const LoopSpec& o) const { return same(*this, o); }
bool FaultRecord::operator==(const FaultRecord& o) const { return same(*this, o); }
bool Provenance::operator==(const Provenance& o) const { return same(*this, o); }
bool Recipe::operator==(const Recipe& o) const { return same(*this, o); }

Json Recipe::to_json() const { return Json(*this); }

Recipe Recipe::from_json(const Json& j) {
  DYNFAULT_CHECK(j.is_object(), "Recipe::from_json(): expected a JSON object, got ", j.type_name());
  try {
    return j.get<Recipe>();
  } catch (const Json::exception& e) {
    throw Error(std::string("Recipe::from_json(): ") + e.what());
  }
}

std::string Recipe::canonical() const { return to_json().dump(); }

Layer Linear(int64_t out, bool bias) {
  Layer l;
  l.type = "linear";
  l.out = out;
  l.bias = bias;
  return l;
}
Layer Conv1d(int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  Layer l;
  l.type = "conv1d";
  l.out = out;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  return l;
}
Layer Conv2d(int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  Layer l = Conv1d(out, kernel, stride, padding);
  l.type = "conv2d";
  return l;
}
Layer MaxPool1d(int64_t kernel, int64_t stride) {
  Layer l;
  l.type = "maxpool1d";
  l.kernel = kernel;
  l.stride = stride;
  return l;
}
Layer MaxPool2d(int64_t kernel, int64_t stride) {
  Layer l = MaxPool1d(kernel, stride);
  l.type = "maxpool2d";
  return l;
}
Layer AvgPool2d(int64_t kernel, int64_t stride) {
  Layer l = MaxPool1d(kernel, stride);
  l.type = "avgpool2d";
  return l;
}
Layer AdaptiveAvgPool2d(int64_t out) {
  Layer l;
  l.type = "adaptive_avgpool2d";
  l.out = out;
  return l;
}
Layer BatchNorm() {
  Layer l;
  l.type = "batchnorm";
  return l;
}
Layer Dropout(double p) {
  Layer l;
  l.type = "dropout";
  l.p = p;
  return l;
}
Layer Flatten() {
  Layer l;
  l.type = "flatten";
  return l;
}
Layer Embedding(int64_t vocab, int64_t dim) {
  Layer l;
  l.type = "embedding";
  l.vocab = vocab;
  l.out = dim;
  return l;
}
Layer Rnn(const std::string& cell, int64_t hidden, int64_t num_layers, bool last_step) {
  Layer l;
  l.type = cell;
  l.out = hidden;
  l.num_layers = num_layers;
  l.last_step = last_step;
  return l;
}
Layer Act(const std::string& name) {
  Layer l;
  l.type = "act";
  l.act = name;
  return l;
}
Layer Residual(std::vector<Layer> body) {
  Layer l;
  l.type = "residual";
  l.body = std::move(body);
  return l;
}

Layer ConvTranspose2d(int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  Layer l = Conv1d(out, kernel, stride, padding);
  l.type = "conv_transpose2d";
  return l;
}
Layer Unflatten(int64_t channels) {
  Layer l;
  l.type = "unflatten";
  l.out = channels;
  return l;
}
Layer Transpose() {
  Layer l;
  l.type = "transpose";
  return l;
}

bool is_classification_loss(const std::string& loss) {
  return loss == "cross_entropy" || loss == "nll" || loss == "bce" || loss == "bce_logits" ||
         loss == "hinge" || loss == "squared_hinge" || loss == "categorical_hinge" || loss == "kld";
}
bool is_regression_loss(const std::string& loss) {
  return loss == "mse" || loss == "mae" || loss == "huber" || loss == "smooth_l1" ||
         loss == "mape" || loss == "msle" || loss == "logcosh" || loss == "poisson";
}

}  // namespace dynfault::programs
