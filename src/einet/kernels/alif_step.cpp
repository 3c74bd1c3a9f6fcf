// One exact step of adaptive LIF neurons with current-based synapses and scalar parameters
// (einet.neurons.alif.alif_step, the torch reference, whose expressions and order of operations this
// follows, with the step's constants computed once in Python): the membrane's exact update under the
// drive, the synaptic current and the adaptation current, threshold, reset and refractory count, and
// the adaptation's decay and jump. torch's path makes about twenty full-size temporaries a step for
// this; here each neuron is one pass through registers, a row of neurons per vectorised loop.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace {

template <typename T>
struct Constants {
  T a, one_minus_a, f_syn, f_w, d_w, d_syn, rest, th, reset, b, n_ref;
};

// Neurons [o, o + n) of the state; d: the row's drive (d_stride 0: one value for all).
template <typename T>
void alif_row(const T* vp, const T* ip, const T* wp, const T* rp, const T* ap, const T* d, int64_t d_stride,
              T* sp, T* vo, T* io, T* wo, T* ro, int64_t n, const Constants<T>& c) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) {
    const T i = ap ? ip[j] + ap[j] : ip[j];
    T v_free = c.rest + (vp[j] - c.rest) * c.a + d[j * d_stride] * c.one_minus_a + i * c.f_syn;
    v_free = v_free - wp[j] * c.f_w;
    const bool active = rp[j] <= T(0);
    const bool fired = active & (v_free >= c.th);
    const T spike = fired ? T(1) : T(0);
    vo[j] = (fired | !active) ? c.reset : v_free;
    const T counted = rp[j] - T(1);
    ro[j] = fired ? c.n_ref : (counted > T(0) ? counted : T(0));
    wo[j] = wp[j] * c.d_w + c.b * spike;
    io[j] = i * c.d_syn;
    sp[j] = spike;
  }
}

}  // namespace

// state (v, i_syn, w, refractory) [..., n]; drive: numel 1, n or v's; arriving: empty or v's shape.
// constants: a = e^{-dt/tau_m}, f_syn, f_w (filtered steps of i_syn and w), d_w, d_syn (their decays),
// v_rest, v_th, v_reset, b and the refractory period in steps. Returns (spikes, v, i_syn, w, refractory).
std::vector<torch::Tensor> alif_step(torch::Tensor v, torch::Tensor i_syn, torch::Tensor w, torch::Tensor refractory,
                                     torch::Tensor drive, torch::Tensor arriving, double a, double f_syn, double f_w,
                                     double d_w, double d_syn, double v_rest, double v_th, double v_reset, double b,
                                     double n_ref) {
  TORCH_CHECK(v.device().is_cpu() && v.is_contiguous() && v.dim() >= 1, "alif_step: contiguous CPU tensors expected");
  for (const torch::Tensor* t : {&i_syn, &w, &refractory})
    TORCH_CHECK(t->is_contiguous() && t->sizes() == v.sizes() && t->scalar_type() == v.scalar_type(),
                "alif_step: contiguous state tensors of one shape and dtype expected");
  const int64_t total = v.numel(), n = v.size(-1);
  TORCH_CHECK(drive.is_contiguous() && drive.scalar_type() == v.scalar_type() &&
                  (drive.numel() == 1 || drive.numel() == n || drive.numel() == total),
              "alif_step: drive must be contiguous, of v's dtype, with 1, n or all of v's elements");
  const bool has_arriving = arriving.numel() > 0;
  TORCH_CHECK(!has_arriving || (arriving.is_contiguous() && arriving.sizes() == v.sizes() &&
                                arriving.scalar_type() == v.scalar_type()),
              "alif_step: arriving must be empty or shaped like v");
  auto spikes = torch::empty_like(v), v_out = torch::empty_like(v), i_out = torch::empty_like(v),
       w_out = torch::empty_like(v), r_out = torch::empty_like(v);
  if (total == 0) return {spikes, v_out, i_out, w_out, r_out};
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "alif_step", [&] {
    using T = scalar_t;
    const Constants<T> c{T(a), T(1.0 - a), T(f_syn), T(f_w), T(d_w), T(d_syn), T(v_rest), T(v_th), T(v_reset),
                         T(b), T(n_ref)};
    const T* dp = drive.data_ptr<T>();
    const int64_t dn = drive.numel(), rows = total / n;
    at::parallel_for(0, rows, std::max<int64_t>(1, 4096 / n), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t o = r * n;
        alif_row<T>(v.data_ptr<T>() + o, i_syn.data_ptr<T>() + o, w.data_ptr<T>() + o, refractory.data_ptr<T>() + o,
                    has_arriving ? arriving.data_ptr<T>() + o : nullptr, dn == total ? dp + o : dp, dn == 1 ? 0 : 1,
                    spikes.data_ptr<T>() + o, v_out.data_ptr<T>() + o, i_out.data_ptr<T>() + o,
                    w_out.data_ptr<T>() + o, r_out.data_ptr<T>() + o, n, c);
      }
    });
  });
  return {spikes, v_out, i_out, w_out, r_out};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("alif_step", &alif_step, "one exact adaptive-LIF step: (spikes, v, i_syn, w, refractory)");
}
