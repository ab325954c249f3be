// An ordinary hand-written LibTorch training loop (a small MLP on synthetic 3-class data) that
// records its trace through dynfault::TraceRecorder. Usage: recorder_example DB [EPOCHS]
#include <dynfault/runner/trace_recorder.h>
#include <torch/torch.h>

#include <cstdlib>
#include <iostream>

struct Mlp : torch::nn::Module {
  Mlp() {
    fc1 = register_module("fc1", torch::nn::Linear(2, 32));
    fc2 = register_module("fc2", torch::nn::Linear(32, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc2(torch::relu(fc1(x))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};

// Three Gaussian blobs in the plane.
std::pair<torch::Tensor, torch::Tensor> blobs(int64_t n) {
  torch::Tensor y = torch::randint(0, 3, {n}, torch::kLong);
  torch::Tensor centres = torch::tensor({{0.f, 2.f}, {2.f, -1.f}, {-2.f, -1.f}});
  return {centres.index_select(0, y) + torch::randn({n, 2}), y};
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: recorder_example DB [EPOCHS]\n";
    return 2;
  }
  const int64_t epochs = argc > 2 ? std::atoll(argv[2]) : 5;
  torch::manual_seed(0);
  torch::set_num_threads(1);
  auto [x, y] = blobs(600);
  auto [xv, yv] = blobs(200);
  Mlp model;
  torch::optim::Adam optimizer(model.parameters(), torch::optim::AdamOptions(1e-2));

  dynfault::RecorderOptions options;
  options.run_name = "example";
  options.num_classes = 3;
  options.epochs = epochs;
  dynfault::TraceRecorder recorder(argv[1], "example_blobs_mlp", options);
  recorder.watch(model, optimizer);

  const auto accuracy = [](const torch::Tensor& out, const torch::Tensor& t) {
    return out.argmax(1).eq(t).to(torch::kDouble).mean().item<double>();
  };
  for (int64_t epoch = 0; epoch < epochs && !recorder.should_stop(); ++epoch) {
    model.train();
    const torch::Tensor perm = torch::randperm(x.size(0));
    double loss_sum = 0, correct = 0;
    for (int64_t lo = 0; lo < x.size(0); lo += 32) {
      const torch::Tensor idx = perm.narrow(0, lo, std::min<int64_t>(32, x.size(0) - lo));
      const torch::Tensor xb = x.index_select(0, idx), yb = y.index_select(0, idx);
      optimizer.zero_grad();
      const torch::Tensor out = model.forward(xb);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(out, yb);
      loss.backward();
      optimizer.step();
      recorder.on_step(loss);
      loss_sum += loss.item<double>() * xb.size(0);
      correct += accuracy(out, yb) * xb.size(0);
    }
    torch::NoGradGuard no_grad;
    model.eval();
    const torch::Tensor out = model.forward(xv);
    const double val_loss = torch::nn::functional::cross_entropy(out, yv).item<double>();
    recorder.on_epoch(epoch, loss_sum / x.size(0), correct / x.size(0), val_loss,
                      accuracy(out, yv));
  }
  const std::string run = recorder.finish();
  std::cout << "recorded run " << run << " (" << recorder.steps() << " steps)\n";
  return 0;
}
