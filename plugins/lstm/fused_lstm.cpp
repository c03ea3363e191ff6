#include "fused_lstm.hpp"

#include <ATen/Parallel.h>
#include <Eigen/Core>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <string>

namespace sigx::lstm {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Rows = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowsMap = Eigen::Map<Rows>;
using ConstRowsMap = Eigen::Map<const Rows>;

// C (+)= A B, all row-major: C [n, N], A [n, K], B [K, N]. The recurrent products of every
// step, where the time goes. The library is built for baseline x86-64 (Eigen's kernels
// then use 4-wide SSE), so on a CPU with AVX2 and FMA a small kernel of its own runs
// instead, chosen at run time; a plain function, not a template, so that no code built
// for AVX2 can stand in for baseline code elsewhere in the library.
#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) void gemm_avx2(std::int64_t n, std::int64_t N, std::int64_t K, const float* A,
                                                   std::int64_t lda, const float* B, std::int64_t ldb, float* C,
                                                   std::int64_t ldc, bool accumulate) {
    std::int64_t j = 0;
    for (; j + 16 <= N; j += 16) {  // 4 rows x 16 columns in 8 registers
        std::int64_t r = 0;
        for (; r + 4 <= n; r += 4) {
            __m256 acc[4][2];
            for (int i = 0; i < 4; ++i)
                for (int h = 0; h < 2; ++h)
                    acc[i][h] = accumulate ? _mm256_loadu_ps(C + (r + i) * ldc + j + 8 * h) : _mm256_setzero_ps();
            for (std::int64_t k = 0; k < K; ++k) {
                const __m256 b0 = _mm256_loadu_ps(B + k * ldb + j), b1 = _mm256_loadu_ps(B + k * ldb + j + 8);
                for (int i = 0; i < 4; ++i) {
                    const __m256 a = _mm256_broadcast_ss(A + (r + i) * lda + k);
                    acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
                    acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
                }
            }
            for (int i = 0; i < 4; ++i)
                for (int h = 0; h < 2; ++h) _mm256_storeu_ps(C + (r + i) * ldc + j + 8 * h, acc[i][h]);
        }
        for (; r < n; ++r) {
            __m256 c0 = accumulate ? _mm256_loadu_ps(C + r * ldc + j) : _mm256_setzero_ps();
            __m256 c1 = accumulate ? _mm256_loadu_ps(C + r * ldc + j + 8) : _mm256_setzero_ps();
            for (std::int64_t k = 0; k < K; ++k) {
                const __m256 a = _mm256_broadcast_ss(A + r * lda + k);
                c0 = _mm256_fmadd_ps(a, _mm256_loadu_ps(B + k * ldb + j), c0);
                c1 = _mm256_fmadd_ps(a, _mm256_loadu_ps(B + k * ldb + j + 8), c1);
            }
            _mm256_storeu_ps(C + r * ldc + j, c0);
            _mm256_storeu_ps(C + r * ldc + j + 8, c1);
        }
    }
    for (; j < N; ++j)  // the last columns, when N is not a multiple of 16
        for (std::int64_t r = 0; r < n; ++r) {
            float sum = accumulate ? C[r * ldc + j] : 0.0f;
            for (std::int64_t k = 0; k < K; ++k) sum += A[r * lda + k] * B[k * ldb + j];
            C[r * ldc + j] = sum;
        }
}
#endif

void gemm(std::int64_t n, std::int64_t N, std::int64_t K, const float* A, std::int64_t lda, const float* B,
          std::int64_t ldb, float* C, std::int64_t ldc, bool accumulate) {
#if defined(__x86_64__)
    static const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2) return gemm_avx2(n, N, K, A, lda, B, ldb, C, ldc, accumulate);
#endif
    using Strided = Eigen::Map<const Rows, 0, Eigen::OuterStride<>>;
    Eigen::Map<Rows, 0, Eigen::OuterStride<>> c(C, n, N, Eigen::OuterStride<>(ldc));
    const Strided a(A, n, K, Eigen::OuterStride<>(lda)), b(B, K, N, Eigen::OuterStride<>(ldb));
    if (accumulate)
        c.noalias() += a * b;
    else
        c.noalias() = a * b;
}

// One layer, one direction, over [steps, batch, inputs] (time-major, contiguous).
// Gates in PyTorch's order i, f, g, o.
struct LayerFunction : torch::autograd::Function<LayerFunction> {
    // Returns y [T, B, H], h_T, c_T.
    static variable_list forward(AutogradContext* ctx, const Tensor& x, const Tensor& h0, const Tensor& c0,
                                 const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
        const auto T = x.size(0), B = x.size(1), I = x.size(2), H = w_hh.size(1);
        // The input's share of every gate, all steps at once: [T, B, 4H].
        auto gates = torch::addmm(b_ih + b_hh, x.reshape({T * B, I}), w_ih.t()).view({T, B, 4 * H});
        auto hs = torch::empty({T, B, H}, x.options()), cs = torch::empty({T, B, H}, x.options());
        const auto w = w_hh.contiguous(), h_init = h0.contiguous(), c_init = c0.contiguous();
        const auto w_t = w_hh.t().contiguous();  // [H, 4H]: each step's product reads its rows
        const float* W_t = w_t.data_ptr<float>();
        float* g = gates.data_ptr<float>();
        float* h = hs.data_ptr<float>();
        float* c = cs.data_ptr<float>();
        // Each batch row is its own recurrence: the threads take rows, each for all steps.
        at::parallel_for(0, B, 1, [&](std::int64_t b0, std::int64_t b1) {
            const std::int64_t n = b1 - b0;
            for (std::int64_t t = 0; t < T; ++t) {
                RowsMap a(g + (t * B + b0) * 4 * H, n, 4 * H);
                const ConstRowsMap h_prev(t == 0 ? h_init.data_ptr<float>() + b0 * H : h + ((t - 1) * B + b0) * H, n,
                                          H);
                const ConstRowsMap c_prev(t == 0 ? c_init.data_ptr<float>() + b0 * H : c + ((t - 1) * B + b0) * H, n,
                                          H);
                gemm(n, 4 * H, H, h_prev.data(), H, W_t, 4 * H, a.data(), 4 * H, true);
                // The activations replace the pre-activations: backward needs only them.
                a.leftCols(2 * H) = a.leftCols(2 * H).array().logistic();
                a.middleCols(2 * H, H) = a.middleCols(2 * H, H).array().tanh();
                a.rightCols(H) = a.rightCols(H).array().logistic();
                RowsMap c_t(c + (t * B + b0) * H, n, H), h_t(h + (t * B + b0) * H, n, H);
                c_t.array() = a.middleCols(H, H).array() * c_prev.array() +
                              a.leftCols(H).array() * a.middleCols(2 * H, H).array();
                h_t.array() = a.rightCols(H).array() * c_t.array().tanh();
            }
        });
        ctx->save_for_backward({x, h_init, c_init, w_ih, w, gates, hs, cs});
        return {hs, hs[T - 1].clone(), cs[T - 1].clone()};
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad) {
        const auto saved = ctx->get_saved_variables();
        const Tensor &x = saved[0], &h0 = saved[1], &c0 = saved[2], &w_ih = saved[3], &w_hh = saved[4],
                     &acts = saved[5], &hs = saved[6], &cs = saved[7];
        const auto T = x.size(0), B = x.size(1), H = w_hh.size(1);
        const Tensor dy = grad[0].contiguous();
        Tensor dh = grad[1].clone().contiguous(), dc = grad[2].clone().contiguous();
        auto da = torch::empty({T, B, 4 * H}, x.options());  // the gates' pre-activation gradients
        const float* W = w_hh.data_ptr<float>();
        at::parallel_for(0, B, 1, [&](std::int64_t b0, std::int64_t b1) {
            const std::int64_t n = b1 - b0;
            Rows dh_total(n, H), dc_total(n, H), tanh_c(n, H);
            RowsMap dh_m(dh.data_ptr<float>() + b0 * H, n, H), dc_m(dc.data_ptr<float>() + b0 * H, n, H);
            for (std::int64_t t = T - 1; t >= 0; --t) {
                const ConstRowsMap a(acts.data_ptr<float>() + (t * B + b0) * 4 * H, n, 4 * H);
                const ConstRowsMap c_t(cs.data_ptr<float>() + (t * B + b0) * H, n, H);
                const ConstRowsMap c_prev(
                    t == 0 ? c0.data_ptr<float>() + b0 * H : cs.data_ptr<float>() + ((t - 1) * B + b0) * H, n, H);
                const ConstRowsMap dy_t(dy.data_ptr<float>() + (t * B + b0) * H, n, H);
                RowsMap d(da.data_ptr<float>() + (t * B + b0) * 4 * H, n, 4 * H);
                const auto i = a.leftCols(H).array(), f = a.middleCols(H, H).array(),
                           g = a.middleCols(2 * H, H).array(), o = a.rightCols(H).array();
                dh_total.array() = dy_t.array() + dh_m.array();
                tanh_c.array() = c_t.array().tanh();
                dc_total.array() = dc_m.array() + dh_total.array() * o * (1 - tanh_c.array().square());
                d.leftCols(H).array() = dc_total.array() * g * i * (1 - i);
                d.middleCols(H, H).array() = dc_total.array() * c_prev.array() * f * (1 - f);
                d.middleCols(2 * H, H).array() = dc_total.array() * i * (1 - g.square());
                d.rightCols(H).array() = dh_total.array() * tanh_c.array() * o * (1 - o);
                dc_m.array() = dc_total.array() * f;
                gemm(n, H, 4 * H, d.data(), 4 * H, W, H, dh_m.data(), H, false);
            }
        });
        // The weights' gradients over all steps at once.
        const auto d2 = da.view({T * B, 4 * H});
        const auto h_prev = torch::cat({h0.unsqueeze(0), hs.narrow(0, 0, T - 1)}).view({T * B, H});
        const auto db = d2.sum(0);
        Tensor dx;
        if (ctx->needs_input_grad(0)) dx = d2.mm(w_ih).view(x.sizes());
        return {dx, dh, dc, d2.t().mm(x.reshape({T * B, x.size(2)})), d2.t().mm(h_prev), db, db};
    }
};

}  // namespace

std::tuple<Tensor, std::tuple<Tensor, Tensor>> fused_lstm(torch::nn::LSTM& lstm, const Tensor& x,
                                                          const LstmState& state, bool training) {
    const auto& o = lstm->options;
    if (!o.batch_first() || o.proj_size() != 0 || !o.bias())
        throw std::runtime_error("the fused LSTM takes batch_first LSTMs with biases and no projection");
    const std::int64_t layers = o.num_layers(), directions = o.bidirectional() ? 2 : 1, H = o.hidden_size(),
                       B = x.size(0);
    const auto params = lstm->named_parameters(false);
    Tensor h0, c0;
    if (state) {
        h0 = std::get<0>(*state), c0 = std::get<1>(*state);
    } else {
        h0 = torch::zeros({layers * directions, B, H}, x.options());
        c0 = torch::zeros_like(h0);
    }
    Tensor in = x.transpose(0, 1).contiguous();  // time-major through the layers
    std::vector<Tensor> h_last, c_last;
    for (std::int64_t l = 0; l < layers; ++l) {
        std::vector<Tensor> outputs;
        for (std::int64_t d = 0; d < directions; ++d) {
            const std::string suffix = "_l" + std::to_string(l) + (d == 1 ? "_reverse" : "");
            const Tensor seq = d == 1 ? in.flip(0) : in;
            const std::int64_t k = l * directions + d;
            auto r = LayerFunction::apply(seq, h0[k], c0[k], params["weight_ih" + suffix], params["weight_hh" + suffix],
                                          params["bias_ih" + suffix], params["bias_hh" + suffix]);
            outputs.push_back(d == 1 ? r[0].flip(0) : r[0]);
            h_last.push_back(r[1]), c_last.push_back(r[2]);
        }
        in = directions == 1 ? outputs[0] : torch::cat(outputs, 2);
        if (l + 1 < layers && o.dropout() > 0) in = torch::dropout(in, o.dropout(), training);
    }
    return {in.transpose(0, 1), {torch::stack(h_last), torch::stack(c_last)}};
}

}  // namespace sigx::lstm
