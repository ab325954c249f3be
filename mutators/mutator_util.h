#pragma once
/// Small helpers shared by the fault operators: parameter declarations, describing a change, and
/// finding the k-th layer of a kind in a (possibly nested) layer list. Torch-free, like the rest
/// of mutators/.
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "mutators/mutator.h"

namespace dynfault::mutators {

using programs::Layer;

// --- parameter declarations -----------------------------------------------------------------

/// A real-valued parameter with inclusive bounds.
ParamSpec number_param(const std::string& name, double default_value, double min, double max,
                       const std::string& doc);
/// An integer parameter with inclusive bounds.
ParamSpec integer_param(const std::string& name, int64_t default_value, int64_t min, int64_t max,
                        const std::string& doc);
/// A string parameter restricted to `choices`.
ParamSpec choice_param(const std::string& name, const std::string& default_value,
                       std::vector<std::string> choices, const std::string& doc);
/// A boolean parameter.
ParamSpec bool_param(const std::string& name, bool default_value, const std::string& doc);
/// The layer-selection parameter `index`: the k-th (0-based, reading order, residual bodies
/// included) of the operator's layers called `what`; -1 = all of them. Default -1.
ParamSpec index_param(const std::string& what);

/// Activation names an operator may set (recipe.h's list without log_softmax).
const std::vector<std::string>& activation_names();

// --- describing values and changes ---------------------------------------------------------

/// Shortest round-trip text of a value, as the canonical JSON writes it (strings unquoted).
std::string describe(double v);
std::string describe(int64_t v);
std::string describe(bool v);
std::string describe(const std::string& v);
/// A layer as `type(field=value, ...)`, naming only the fields its type reads.
std::string describe(const Layer& l);

/// Sets `target = value` and returns "name: before -> after"; returns "" and sets nothing when
/// they are already equal, so callers can tell a no-op from a change.
template <typename T>
std::string set_field(const std::string& name, T& target, const T& value) {
  if (target == value) return "";
  std::string change = name + ": " + describe(target) + " -> " + describe(value);
  target = value;
  return change;
}

/// Joins the non-empty parts with "; ".
std::string join_changes(const std::vector<std::string>& parts);

/// The no-op refusal: "<what> is already <value>".
template <typename T>
std::string already(const std::string& what, const T& value) {
  return what + " is already " + describe(value);
}

// --- finding layers ------------------------------------------------------------------------

/// Where a layer sits: indices from the top-level list down through residual bodies.
using LayerPath = std::vector<size_t>;
/// Decides whether `list[i]` is one of the layers an operator acts on; `top` is true for the
/// top-level list (residual bodies are never the model's output).
using LayerPred = std::function<bool(const std::vector<Layer>& list, size_t i, bool top)>;

/// Paths of the matching layers in reading order, descending into residual bodies.
std::vector<LayerPath> find_layers(const std::vector<Layer>& layers, const LayerPred& pred);
/// The layer at `path`, and the list that holds it.
Layer& layer_at(std::vector<Layer>& layers, const LayerPath& path);
std::vector<Layer>& list_at(std::vector<Layer>& layers, const LayerPath& path);
/// "layers[3]" or "layers[3].body[1]".
std::string path_name(const LayerPath& path);

/// Index of the output layer in the top-level list: the last layer with parameters (linear,
/// conv, recurrent, embedding, residual); layers.size() when there is none.
size_t output_index(const std::vector<Layer>& layers);
bool is_conv(const Layer& l);
bool is_pool(const Layer& l);
bool is_recurrent(const Layer& l);
/// Predicates on a layer position (see LayerPred).
bool is_hidden(const std::vector<Layer>& list, size_t i, bool top);
bool is_hidden_act(const std::vector<Layer>& list, size_t i, bool top);
bool is_hidden_linear(const std::vector<Layer>& list, size_t i, bool top);
bool is_hidden_conv(const std::vector<Layer>& list, size_t i, bool top);
/// True for an output softmax or log_softmax (after the output layer, top level).
bool is_output_softmax(const std::vector<Layer>& list, size_t i, bool top);
bool is_linear_or_conv(const std::vector<Layer>& list, size_t i, bool top);
/// A predicate matching layers of `type` anywhere.
LayerPred is_type(const std::string& type);
/// True when the model contains a layer of `type` anywhere.
bool has_layer_type(const std::vector<Layer>& layers, const std::string& type);

/// "" for a classification program, else the reason (a data fault that needs class labels).
std::string classification_reason(const Recipe& r);
/// "" when `r` is built from its layer list, else the reason (custom builders own their model).
std::string layer_list_reason(const Recipe& r);

/// Selects the layers matching `pred` (`index` = k-th, 0-based, or -1 = all) and fills `chosen`;
/// `top_only` keeps to the top-level list (structural edits). Returns "" on success, else why
/// nothing was selected, naming the layers `what` ("hidden linear layer"): the model is not a
/// layer list, has no such layer, or has fewer than index + 1.
std::string select_layers(const Recipe& r, const LayerPred& pred, int64_t index,
                          const std::string& what, std::vector<LayerPath>& chosen,
                          bool top_only = false);
/// select_layers' reason alone (for preconditions).
std::string selection_reason(const Recipe& r, const LayerPred& pred, int64_t index,
                             const std::string& what, bool top_only = false);
/// select_layers' choice alone (empty when the selection fails).
std::vector<LayerPath> selected(const Recipe& r, const LayerPred& pred, int64_t index,
                                bool top_only = false);

/// Edits one layer in place and returns what it changed ("" for no change).
using LayerEdit = std::function<std::string(Layer&)>;
/// Applies `edit` to the layers at `paths` and returns the joined changes, each prefixed with
/// the layer's path ("layers[2].out: 8 -> 2").
std::string edit_layers(std::vector<Layer>& layers, const std::vector<LayerPath>& paths,
                        const LayerEdit& edit);
/// Removes the layers at `paths` (deepest and last first, so earlier paths stay valid) and
/// returns "removed layers[i] type(...)" for each, in reading order.
std::string remove_layers(std::vector<Layer>& layers, const std::vector<LayerPath>& paths);
/// Inserts `layer` right after each of `paths` and returns "inserted ... after layers[i]".
std::string insert_after(std::vector<Layer>& layers, const std::vector<LayerPath>& paths,
                         const Layer& layer);

// --- weight penalties (reg_add, reg_change) --------------------------------------------------

/// `kind` (l1, l2, l1_l2) and `strength`, DeepCrime's RAW/RCW pool.
std::vector<ParamSpec> weight_penalty_params();
/// Sets l1/l2 from `kind` and `strength` (the kind not named is turned off); returns the change.
std::string set_weight_penalty(Recipe& r, const Json& p);
/// "l1 0.01, l2 0.0".
std::string describe_weight_penalty(const Recipe& r);

// --- the common operator shape ---------------------------------------------------------------

/// An operator defined by one edit of the Recipe. Subclasses say why it cannot apply at all
/// (precondition), perform and describe the edit (edit), and say why an edit that changes
/// nothing is refused (no_op). not_applicable() runs the edit on a copy, so an operator built on
/// this class can never plan a silent no-op, and mutate() records exactly what edit() reports.
class EditMutator : public Mutator {
 public:
  std::string not_applicable(const Recipe& r, const Json& p) const final;
  Recipe mutate(Recipe r, const Json& p) const final;

 protected:
  /// Why the operator cannot apply to `r` at all; "" when it can. Default: always can.
  virtual std::string precondition(const Recipe& r, const Json& p) const;
  /// Changes `r` and returns "field: before -> after" parts joined by "; " ("" = no change).
  /// Precondition: precondition(r, p) is "".
  virtual std::string edit(Recipe& r, const Json& p) const = 0;
  /// Why an edit that changes nothing is refused ("the learning rate is already 10").
  virtual std::string no_op(const Recipe& r, const Json& p) const = 0;
};

/// A kind of layer that operators select: its name in refusals and change records, and which
/// positions belong to it.
struct LayerKind {
  std::string what;  ///< singular: "convolution layer"
  LayerPred pred;
  bool top_only = false;  ///< the top-level list only (structural edits)
};
LayerKind conv_layers();
LayerKind hidden_conv_layers();
LayerKind hidden_linear_layers();
LayerKind hidden_act_layers();
LayerKind linear_or_conv_layers();
LayerKind pooling_layers();
LayerKind recurrent_layers();
/// Layers of `type` anywhere, called `what`.
LayerKind layers_of_type(const std::string& type, const std::string& what);

/// An EditMutator acting on the layers of one kind: the selection reads the parameter `index`
/// (k-th, 0-based, -1 = all; all when the operator declares no `index`), and precondition()
/// refuses clearly when the model is not a layer list or has no such layer. Subclasses pass
/// their kind to the constructor and implement edit() over sites().
class LayerMutator : public EditMutator {
 public:
  explicit LayerMutator(LayerKind kind) : kind_(std::move(kind)) {}

 protected:
  const LayerKind& kind() const { return kind_; }
  std::string precondition(const Recipe& r, const Json& p) const override;
  /// The selected layers of `r`, in reading order.
  std::vector<LayerPath> sites(const Recipe& r, const Json& p) const;
  /// edit_layers() over sites().
  std::string edit_sites(Recipe& r, const Json& p, const LayerEdit& edit) const;

 private:
  LayerKind kind_;
};

}  // namespace dynfault::mutators
