// The LSTM's training path without LibTorch's per-step operators: one layer runs a whole
// sequence forward, and backward through time, as one autograd node. The input's share
// of every gate comes from one matrix product over all steps; each step then adds the
// recurrent product (Eigen) and applies the gates' nonlinearities in one pass; backward
// mirrors it, and the weights' gradients are again one product over all steps. LibTorch's
// LSTM records an autograd node for each operator of every step and layer, and at these
// sizes dispatching them, not arithmetic, is where its time goes. Same parameters, same results
// (to float rounding) as torch::nn::LSTM; the optimiser, checkpoints and the distributed
// trainer see nothing different.
#pragma once

#include <torch/torch.h>

#include <tuple>

namespace sigx::lstm {

using LstmState = c10::optional<std::tuple<torch::Tensor, torch::Tensor>>;

// torch::nn::LSTM's forward (batch_first, any layers, bidirectional, dropout between
// layers when `training`) through fused layers: returns the last layer's output
// [batch, steps, directions * hidden] and the final (h, c), each [layers * directions,
// batch, hidden]. float32 on the CPU.
std::tuple<torch::Tensor, std::tuple<torch::Tensor, torch::Tensor>> fused_lstm(torch::nn::LSTM& lstm,
                                                                               const torch::Tensor& x,
                                                                               const LstmState& state, bool training);

}  // namespace sigx::lstm
