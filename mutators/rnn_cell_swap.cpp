// Layer fault: DEFault's EFI RNN layer-type swap (LSTM <-> GRU), extended to the plain RNN.
#include "mutators/mutator_util.h"

namespace dynfault::mutators {
namespace {

/// Replaces the cell of recurrent layers (the `index`-th, or all for -1) by `to`, keeping
/// hidden size and depth. Applies to: layer-list programs with a recurrent layer of another
/// cell. Symptom: a plain RNN loses long-range memory (vanishing or exploding gradients through
/// time, a higher loss floor on long sequences); LSTM <-> GRU is usually mild.
class RnnCellSwap final : public LayerMutator {
 public:
  RnnCellSwap() : LayerMutator(recurrent_layers()) {}
  std::string id() const override { return "rnn_cell_swap"; }
  std::string category() const override { return "layer"; }
  std::string description() const override {
    return "Replaces the cell of recurrent layers (rnn, lstm, gru) by `to`.";
  }
  std::string symptom() const override {
    return "plain rnn: vanishing or exploding gradients through time, higher loss floor; "
           "lstm <-> gru: mild";
  }
  std::vector<ParamSpec> params() const override {
    return {choice_param("to", "gru", {"gru", "lstm", "rnn"}, "the new cell"),
            index_param(kind().what)};
  }

 protected:
  std::string edit(Recipe& r, const Json& p) const override {
    const auto to = p.at("to").get<std::string>();
    return edit_sites(r, p, [&](Layer& l) { return set_field("type", l.type, to); });
  }
  std::string no_op(const Recipe&, const Json& p) const override {
    return "the selected recurrent layers are already " + p.at("to").get<std::string>();
  }
};

}  // namespace
DYNFAULT_REGISTER(mutator_registry(), "rnn_cell_swap", std::make_shared<RnnCellSwap>());
}  // namespace dynfault::mutators
