#pragma once
// Precompiled once for every torch translation unit of runner/ and its tests.
#include <torch/torch.h>
