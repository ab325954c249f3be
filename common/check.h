#pragma once
/// Error types and checking macros shared by every dynfault library.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace dynfault {

/// Upper bound of every count of threads or worker processes (--jobs, --threads): far above the
/// machines dynfault runs on, far below what makes OpenMP or the kernel fail (100,000 OpenMP
/// threads crash the process).
inline constexpr int kMaxThreads = 256;

/// Base class of every error dynfault throws on purpose.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A configuration or usage error: names where (file:line), which key and which value.
class ConfigError : public Error {
 public:
  ConfigError(std::string file, int line, std::string key, std::string value,
              const std::string& why)
      : Error(format(file, line, key, value, why)),
        file_(std::move(file)),
        line_(line),
        key_(std::move(key)),
        value_(std::move(value)),
        why_(why) {}
  explicit ConfigError(const std::string& what) : Error(what), line_(0), why_(what) {}

  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& key() const { return key_; }
  const std::string& value() const { return value_; }
  /// The reason alone, without location, key and value.
  const std::string& why() const { return why_; }

 private:
  static std::string format(const std::string& file, int line, const std::string& key,
                            const std::string& value, const std::string& why) {
    std::ostringstream os;
    if (!file.empty()) os << file;
    if (line > 0) os << ':' << line;
    if (!file.empty() || line > 0) os << ": ";
    if (!key.empty()) os << "key '" << key << "'";
    if (!value.empty()) os << (key.empty() ? "" : " ") << "value '" << value << "'";
    if (!key.empty() || !value.empty()) os << ": ";
    os << why;
    return os.str();
  }
  std::string file_;
  int line_;
  std::string key_;
  std::string value_;
  std::string why_;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

}  // namespace dynfault

/// Throws dynfault::Error with the concatenated message when `cond` is false.
#define DYNFAULT_CHECK(cond, ...)                                                  \
  do {                                                                             \
    if (!(cond)) throw ::dynfault::Error(::dynfault::detail::concat(__VA_ARGS__)); \
  } while (0)

/// Internal invariant: a failure is a bug in dynfault, not bad input.
#define DYNFAULT_ASSERT(cond)                                                                    \
  do {                                                                                           \
    if (!(cond))                                                                                 \
      throw ::dynfault::Error(                                                                   \
          ::dynfault::detail::concat("internal error: ", __FILE__, ":", __LINE__, ": ", #cond)); \
  } while (0)

/// Options-struct field with a chained setter, as TORCH_ARG; usable without torch.
#define DYNFAULT_ARG(T, name)                                     \
 public:                                                          \
  inline auto name(const T& new_##name)->decltype(*this) {        \
    this->name##_ = new_##name;                                   \
    return *this;                                                 \
  }                                                               \
  inline const T& name() const noexcept { return this->name##_; } \
                                                                  \
 private:                                                         \
  T name##_
