#pragma once
/// Column statistics with pandas' conventions, and small NaN-safe series helpers shared by the
/// feature sets and labels. Pure functions, no state.
#include <array>
#include <cstddef>
#include <vector>

namespace dynfault::features {

/// DeepFD's 8 reductions, in DeepFD's order (`CodeBook/Config.py` `OPERATORS`); feature names
/// are `ft_<column>_<stat>`.
inline constexpr std::array<const char*, 8> kDeepfdStats = {"mean", "std", "skew", "median",
                                                            "var",  "sem", "max",  "min"};

/// The 8 DeepFD statistics of one column, as pandas' `DataFrame.agg` computes them with its
/// defaults (skipna=True, ddof=1). NaN entries are skipped; +-Inf are values (pandas keeps them).
/// With n = number of non-NaN values:
///   - n = 0: every statistic is NaN (pandas: mean/median/max/min of an all-NaN column are NaN);
///   - std, var, sem: NaN for n < 2 (ddof = 1 leaves no degrees of freedom); 0 for a constant
///     column with n >= 2; sem = std / sqrt(n);
///   - skew: the bias-corrected sample skewness G1 = n sqrt(n-1) / (n-2) * m3 / m2^1.5 with
///     m2, m3 the sums of squared / cubed deviations (pandas `nanops.nanskew`); NaN for n < 3;
///     0 when m2 is zero after pandas' round-off clean-up (a constant column), as pandas does.
struct ColumnStats {
  double mean, std, skew, median, var, sem, max, min;
  /// The 8 values in `kDeepfdStats` order.
  std::array<double, 8> as_array() const { return {mean, std, skew, median, var, sem, max, min}; }
};

/// pandas-conventional statistics of `values` (see ColumnStats).
ColumnStats column_stats(const std::vector<double>& values);

/// Least-squares slope of y over x, using only points where both are finite; NaN for fewer
/// than 2 such points or when all x are equal.
double ls_slope(const std::vector<double>& x, const std::vector<double>& y);

/// Minimum / maximum over the finite entries; NaN when there is none.
double finite_min(const std::vector<double>& values);
double finite_max(const std::vector<double>& values);

/// True when any entry is NaN or +-Inf.
bool any_nonfinite(const std::vector<double>& values);

}  // namespace dynfault::features
