#pragma once
/// The training scope (model_scope.h) as the `scope` record of a model file: one JSON object,
/// the reference sample as a string of 7-significant-digit numbers (enough for a distance).
#include <string>

#include "diagnosis/model_scope.h"

namespace dynfault::diagnosis {

std::string scope_to_text(const TrainingScope& scope);
/// Reads scope_to_text's text for a model of `dims` features; `who` prefixes every error.
TrainingScope scope_from_text(const std::string& text, size_t dims, const std::string& who);

}  // namespace dynfault::diagnosis
