#pragma once
/// Shorthands for program definitions (programs/*.cpp): they keep each program's file down to
/// what makes it that program (its source, changes, data, layers and training setup) and set
/// every other field the same way across the catalogue.
#include <cstdint>
#include <initializer_list>
#include <map>
#include <string>
#include <vector>

#include "programs/recipe.h"

namespace dynfault::programs {

/// A Recipe with its identity: id, family (mlp, cnn, rnn, autoencoder), task (multiclass,
/// binary, regression) and data kind (image, tabular, sequence, text, synthetic); the metric
/// follows from the task (r2 for regression, else accuracy).
Recipe make_program(const std::string& id, const std::string& family, const std::string& task,
                    const std::string& kind);

/// Loss, optimizer, batch size (0 = full batch) and epochs.
void set_training(Recipe& r, const std::string& loss, const OptimizerSpec& optimizer,
                  int64_t batch_size, int64_t epochs);

/// scikit-learn's MLPClassifier / MLPRegressor conventions: Glorot-uniform weights with zero
/// biases (xavier_uniform) and the penalty alpha / (2 n) |W|^2 on the mean loss, for the n
/// samples the program trains on.
void sklearn_mlp_defaults(Recipe& r, double alpha, int64_t n_train);

/// Optimizers with the options their sources use (defaults are PyTorch's unless named).
OptimizerSpec sgd(double lr, double momentum = 0.0, bool nesterov = false);
OptimizerSpec adam(double lr, double eps = 1e-8);
OptimizerSpec rmsprop(double lr, double rho, double eps);
OptimizerSpec adadelta(double lr, double rho, double eps);
/// PyTorch's StepLR: lr *= gamma every `step_size` epochs.
ScheduleSpec step_lr(int64_t step_size, double gamma);
/// Keras 2 defaults of its optimizers where they differ from PyTorch's: Adam and RMSprop use
/// epsilon 1e-7 (K.epsilon()), Adadelta lr 1.0, rho 0.95, epsilon 1e-7.
OptimizerSpec keras_adam(double lr = 1e-3);
OptimizerSpec keras_adadelta();

/// The layer groups one after the other (for programs built from blocks, as d2l's VGG and NiN).
std::vector<Layer> concat(std::initializer_list<std::vector<Layer>> parts);

/// A data set by loader name with its declared sample shape and class count (0 = regression).
DataSpec data_of(const std::string& name, std::vector<int64_t> sample_shape, int64_t num_classes,
                 std::map<std::string, double> params = {});
/// Fashion-MNIST subsets: `train` / `test` images (stratified prefixes), inputs scaled to [0, 1]
/// only (normalize off, as ToTensor() and x / 255 in the sources), 10% of the training part for
/// validation.
DataSpec fashion_mnist(int64_t train, int64_t test);

/// scikit-learn's 8 x 8 digits (vendored): pixels / 16 (their 0-16 range, as MinMaxScaler or
/// x / 255 on MNIST), not standardised, 10% of the training part for validation; `as_image`
/// gives {1, 8, 8} images instead of 64 features.
DataSpec digits(bool as_image);

}  // namespace dynfault::programs
