#include "mutators/mutator_util.h"

#include <algorithm>
#include <utility>

namespace dynfault::mutators {

ParamSpec number_param(const std::string& name, double default_value, double min, double max,
                       const std::string& doc) {
  ParamSpec s;
  s.name = name;
  s.type = ParamSpec::Type::kNumber;
  s.default_value = default_value;
  s.min = min;
  s.max = max;
  s.doc = doc;
  return s;
}

ParamSpec integer_param(const std::string& name, int64_t default_value, int64_t min, int64_t max,
                        const std::string& doc) {
  ParamSpec s = number_param(name, 0.0, static_cast<double>(min), static_cast<double>(max), doc);
  s.type = ParamSpec::Type::kInteger;
  s.default_value = default_value;
  return s;
}

ParamSpec choice_param(const std::string& name, const std::string& default_value,
                       std::vector<std::string> choices, const std::string& doc) {
  ParamSpec s;
  s.name = name;
  s.type = ParamSpec::Type::kString;
  s.default_value = default_value;
  s.choices = std::move(choices);
  s.doc = doc;
  return s;
}

ParamSpec bool_param(const std::string& name, bool default_value, const std::string& doc) {
  ParamSpec s;
  s.name = name;
  s.type = ParamSpec::Type::kBool;
  s.default_value = default_value;
  s.doc = doc;
  return s;
}

ParamSpec index_param(const std::string& what) {
  return integer_param("index", -1, -1, 1000,
                       "which " + what +
                           ": the k-th, 0-based, in reading order (residual bodies "
                           "included); -1 = all");
}

const std::vector<std::string>& activation_names() {
  static const std::vector<std::string> kNames = {
      "elu",  "exponential", "gelu",    "hard_sigmoid", "leaky_relu", "linear", "relu",
      "selu", "sigmoid",     "softmax", "softplus",     "softsign",   "tanh"};
  return kNames;
}

std::string describe(double v) { return Json(v).dump(); }
std::string describe(int64_t v) { return std::to_string(v); }
std::string describe(bool v) { return v ? "true" : "false"; }
std::string describe(const std::string& v) { return v; }

std::string describe(const Layer& l) {
  std::vector<std::pair<std::string, std::string>> fields;
  const auto add = [&](const char* name, const std::string& value) {
    fields.emplace_back(name, value);
  };
  if (l.type == "act") {
    return "act(" + l.act + ")";
  } else if (l.type == "linear") {
    add("out", describe(l.out));
  } else if (is_conv(l)) {
    add("out", describe(l.out));
    add("kernel", describe(l.kernel));
    add("stride", describe(l.stride));
    add("padding", describe(l.padding));
  } else if (is_pool(l)) {
    add("kernel", describe(l.kernel));
    add("stride", describe(l.stride));
  } else if (l.type == "adaptive_avgpool2d") {
    add("out", describe(l.out));
  } else if (l.type == "dropout") {
    add("p", describe(l.p));
  } else if (l.type == "embedding") {
    add("vocab", describe(l.vocab));
    add("out", describe(l.out));
  } else if (is_recurrent(l)) {
    add("out", describe(l.out));
    add("num_layers", describe(l.num_layers));
  } else if (l.type == "residual") {
    add("body", std::to_string(l.body.size()) + " layers");
  }
  if ((l.type == "linear" || is_conv(l)) && !l.bias) add("bias", "false");
  if (fields.empty()) return l.type;
  std::string s = l.type + "(";
  for (size_t i = 0; i < fields.size(); ++i)
    s += (i ? ", " : "") + fields[i].first + "=" + fields[i].second;
  return s + ")";
}

std::string join_changes(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) {
    if (p.empty()) continue;
    s += (s.empty() ? "" : "; ") + p;
  }
  return s;
}

namespace {
void find_in(const std::vector<Layer>& list, const LayerPred& pred, bool top, bool descend,
             LayerPath& prefix, std::vector<LayerPath>& out) {
  for (size_t i = 0; i < list.size(); ++i) {
    prefix.push_back(i);
    if (pred(list, i, top)) out.push_back(prefix);
    if (descend && list[i].type == "residual")
      find_in(list[i].body, pred, /*top=*/false, descend, prefix, out);
    prefix.pop_back();
  }
}

std::vector<LayerPath> find_impl(const std::vector<Layer>& layers, const LayerPred& pred,
                                 bool descend) {
  std::vector<LayerPath> out;
  LayerPath prefix;
  find_in(layers, pred, /*top=*/true, descend, prefix, out);
  return out;
}

std::string pick(const Recipe& r, const std::vector<LayerPath>& found, int64_t index,
                 const std::string& what, std::vector<LayerPath>& chosen) {
  chosen.clear();
  if (const std::string why = layer_list_reason(r); !why.empty()) return why;
  if (found.empty()) return "the program has no " + what;
  if (index < 0) {
    chosen = found;
    return "";
  }
  if (static_cast<size_t>(index) >= found.size()) {
    return "index " + std::to_string(index) + " is out of range: the program has " +
           std::to_string(found.size()) + " " + what + "(s)";
  }
  chosen.push_back(found[static_cast<size_t>(index)]);
  return "";
}
}  // namespace

std::vector<LayerPath> find_layers(const std::vector<Layer>& layers, const LayerPred& pred) {
  return find_impl(layers, pred, /*descend=*/true);
}

std::vector<Layer>& list_at(std::vector<Layer>& layers, const LayerPath& path) {
  std::vector<Layer>* list = &layers;
  for (size_t d = 0; d + 1 < path.size(); ++d) list = &(*list)[path[d]].body;
  return *list;
}

Layer& layer_at(std::vector<Layer>& layers, const LayerPath& path) {
  return list_at(layers, path)[path.back()];
}

std::string path_name(const LayerPath& path) {
  std::string s = "layers";
  for (size_t d = 0; d < path.size(); ++d)
    s += (d ? ".body[" : "[") + std::to_string(path[d]) + "]";
  return s;
}

bool is_conv(const Layer& l) { return l.type == "conv1d" || l.type == "conv2d"; }
bool is_pool(const Layer& l) {
  return l.type == "maxpool1d" || l.type == "maxpool2d" || l.type == "avgpool2d";
}
bool is_recurrent(const Layer& l) { return l.type == "rnn" || l.type == "lstm" || l.type == "gru"; }

size_t output_index(const std::vector<Layer>& layers) {
  for (size_t i = layers.size(); i-- > 0;) {
    const Layer& l = layers[i];
    if (l.type == "linear" || is_conv(l) || is_recurrent(l) || l.type == "embedding" ||
        l.type == "residual")
      return i;
  }
  return layers.size();
}

bool is_hidden(const std::vector<Layer>& list, size_t i, bool top) {
  return !top || i < output_index(list);
}
bool is_hidden_act(const std::vector<Layer>& list, size_t i, bool top) {
  return list[i].type == "act" && is_hidden(list, i, top);
}
bool is_hidden_linear(const std::vector<Layer>& list, size_t i, bool top) {
  return list[i].type == "linear" && is_hidden(list, i, top);
}
bool is_hidden_conv(const std::vector<Layer>& list, size_t i, bool top) {
  return is_conv(list[i]) && is_hidden(list, i, top);
}
bool is_output_softmax(const std::vector<Layer>& list, size_t i, bool top) {
  return top && list[i].type == "act" &&
         (list[i].act == "softmax" || list[i].act == "log_softmax") && output_index(list) < i;
}

bool is_linear_or_conv(const std::vector<Layer>& list, size_t i, bool) {
  return list[i].type == "linear" || is_conv(list[i]);
}

LayerPred is_type(const std::string& type) {
  return [type](const std::vector<Layer>& list, size_t i, bool) { return list[i].type == type; };
}

bool has_layer_type(const std::vector<Layer>& layers, const std::string& type) {
  return !find_layers(layers, is_type(type)).empty();
}

std::string classification_reason(const Recipe& r) {
  if (r.task == "regression")
    return "'" + r.program + "' is a regression task without class labels";
  return "";
}

std::string layer_list_reason(const Recipe& r) {
  if (r.builder != "sequential")
    return "the program's model is built by '" + r.builder + "', not from its layer list";
  return "";
}

std::string select_layers(const Recipe& r, const LayerPred& pred, int64_t index,
                          const std::string& what, std::vector<LayerPath>& chosen, bool top_only) {
  return pick(r, find_impl(r.layers, pred, /*descend=*/!top_only), index, what, chosen);
}

std::string selection_reason(const Recipe& r, const LayerPred& pred, int64_t index,
                             const std::string& what, bool top_only) {
  std::vector<LayerPath> chosen;
  return select_layers(r, pred, index, what, chosen, top_only);
}

std::vector<LayerPath> selected(const Recipe& r, const LayerPred& pred, int64_t index,
                                bool top_only) {
  std::vector<LayerPath> chosen;
  select_layers(r, pred, index, "", chosen, top_only);
  return chosen;
}

std::string edit_layers(std::vector<Layer>& layers, const std::vector<LayerPath>& paths,
                        const LayerEdit& edit) {
  std::vector<std::string> parts;
  for (const auto& path : paths) {
    // An edit may change several fields ("kernel: 2 -> 3; stride: 2 -> 3"): name the layer in each.
    const std::string change = edit(layer_at(layers, path));
    for (size_t start = 0; start < change.size();) {
      const size_t end = std::min(change.find("; ", start), change.size());
      parts.push_back(path_name(path) + "." + change.substr(start, end - start));
      start = end + 2;
    }
  }
  return join_changes(parts);
}

std::string remove_layers(std::vector<Layer>& layers, const std::vector<LayerPath>& paths) {
  std::vector<std::string> parts(paths.size());
  for (size_t k = paths.size(); k-- > 0;) {
    auto& list = list_at(layers, paths[k]);
    const size_t i = paths[k].back();
    parts[k] = "removed " + path_name(paths[k]) + " " + describe(list[i]);
    list.erase(list.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return join_changes(parts);
}

std::string insert_after(std::vector<Layer>& layers, const std::vector<LayerPath>& paths,
                         const Layer& layer) {
  std::vector<std::string> parts(paths.size());
  for (size_t k = paths.size(); k-- > 0;) {
    auto& list = list_at(layers, paths[k]);
    const size_t i = paths[k].back();
    parts[k] =
        "inserted " + describe(layer) + " after " + path_name(paths[k]) + " " + describe(list[i]);
    list.insert(list.begin() + static_cast<std::ptrdiff_t>(i) + 1, layer);
  }
  return join_changes(parts);
}

std::vector<ParamSpec> weight_penalty_params() {
  return {choice_param("kind", "l2", {"l1", "l1_l2", "l2"}, "the penalty (DeepCrime's pool)"),
          number_param("strength", 0.01, 1e-12, 100.0,
                       "the penalty factor (Keras' regularizers default to 0.01)")};
}

std::string set_weight_penalty(Recipe& r, const Json& p) {
  const auto kind = p.at("kind").get<std::string>();
  const double strength = p.at("strength").get<double>();
  const bool l1 = kind == "l1" || kind == "l1_l2";
  const bool l2 = kind == "l2" || kind == "l1_l2";
  return join_changes(
      {set_field("l1", r.l1, l1 ? strength : 0.0), set_field("l2", r.l2, l2 ? strength : 0.0)});
}

std::string describe_weight_penalty(const Recipe& r) {
  return "l1 " + describe(r.l1) + ", l2 " + describe(r.l2);
}

std::string EditMutator::precondition(const Recipe&, const Json&) const { return ""; }

std::string EditMutator::not_applicable(const Recipe& r, const Json& p) const {
  if (std::string why = precondition(r, p); !why.empty()) return why;
  Recipe copy = r;
  return edit(copy, p).empty() ? no_op(r, p) : "";
}

Recipe EditMutator::mutate(Recipe r, const Json& p) const {
  const std::string change = edit(r, p);
  record_fault(r, *this, p, change);
  return r;
}

LayerKind conv_layers() {
  return {"convolution layer",
          [](const std::vector<Layer>& l, size_t i, bool) { return is_conv(l[i]); }};
}
LayerKind hidden_conv_layers() { return {"hidden convolution layer", is_hidden_conv}; }
LayerKind hidden_linear_layers() { return {"hidden linear layer", is_hidden_linear}; }
LayerKind hidden_act_layers() { return {"hidden activation layer", is_hidden_act}; }
LayerKind linear_or_conv_layers() { return {"linear/conv layer", is_linear_or_conv}; }
LayerKind pooling_layers() {
  return {"pooling layer",
          [](const std::vector<Layer>& l, size_t i, bool) { return is_pool(l[i]); }};
}
LayerKind recurrent_layers() {
  return {"recurrent layer",
          [](const std::vector<Layer>& l, size_t i, bool) { return is_recurrent(l[i]); }};
}
LayerKind layers_of_type(const std::string& type, const std::string& what) {
  return {what, is_type(type)};
}

std::string LayerMutator::precondition(const Recipe& r, const Json& p) const {
  return selection_reason(r, kind_.pred, p.value("index", int64_t{-1}), kind_.what, kind_.top_only);
}

std::vector<LayerPath> LayerMutator::sites(const Recipe& r, const Json& p) const {
  return selected(r, kind_.pred, p.value("index", int64_t{-1}), kind_.top_only);
}

std::string LayerMutator::edit_sites(Recipe& r, const Json& p, const LayerEdit& edit) const {
  return edit_layers(r.layers, sites(r, p), edit);
}

}  // namespace dynfault::mutators
