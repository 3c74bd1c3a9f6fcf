// Fused per-neuron updates of a rate network step, for large batches on the CPU.
//
// In plain torch a step's elementwise work is some forty passes over [B, N]
// tensors (the short-term plasticity update alone is about twenty), so at a
// batch of hundreds it costs as much as the sparse products. These loops do
// the same arithmetic in one pass each. Parameters that may differ across the
// batch come as [B] vectors. The arithmetic follows einet.synapses.stp and
// einet.network.rate term by term; tests compare both paths.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <tuple>

// exp in a form the vectoriser can call four or sixteen at a time (glibc's libmvec, accurate to a
// few ulp); without these declarations every element would pay a scalar call.
#pragma omp declare simd notinbranch
extern "C" double exp(double);
#pragma omp declare simd notinbranch
extern "C" float expf(float);

namespace {

template <typename scalar_t>
const scalar_t* ptr(const torch::Tensor& t) { return t.data_ptr<scalar_t>(); }

void check_batch(const torch::Tensor& t, int64_t B, const char* name) {
  TORCH_CHECK(t.dim() == 1 && t.size(0) == B && t.is_contiguous(), name, " must be a contiguous [B] vector");
}

inline double vexp(double v) { return ::exp(v); }
inline float vexp(float v) { return ::expf(v); }

template <typename scalar_t>
void stp_rows(const scalar_t* rp, const scalar_t* up, const scalar_t* xp, const scalar_t* Up, const scalar_t* tf,
              const scalar_t* tr, scalar_t* cp, scalar_t* un, scalar_t* xn, int64_t B, int64_t N, scalar_t h,
              scalar_t k) {
  at::parallel_for(0, B, std::max<int64_t>(1, 16384 / std::max<int64_t>(N, 1)), [&](int64_t begin, int64_t end) {
    for (int64_t b = begin; b < end; ++b) {
      const scalar_t U = Up[b], inv_f = scalar_t(1) / tf[b], inv_r = scalar_t(1) / tr[b], U_f = U / tf[b];
      const int64_t o = b * N;
#pragma omp simd
      for (int64_t j = 0; j < N; ++j) {
        const scalar_t rate = rp[o + j], u0 = up[o + j], x0 = xp[o + j];
        cp[o + j] = u0 * x0 * rate;
        const scalar_t rr = (rate > 0 ? rate : scalar_t(0)) * k;
        const scalar_t a = inv_f + U * rr;
        const scalar_t u_inf = (U_f + U * rr) / a;
        const scalar_t u1 = u_inf + (u0 - u_inf) * vexp(-a * h);
        const scalar_t c = inv_r + u1 * rr;
        const scalar_t x_inf = inv_r / c;
        un[o + j] = u1;
        xn[o + j] = x_inf + (x0 - x_inf) * vexp(-c * h);
      }
    }
  });
}

}  // namespace

// What the projection carries now (u x r) and u, x after dt with r held: the
// exact solution of two linear ODEs (see einet.synapses.stp.stp_step).
std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> stp_advance(torch::Tensor r, torch::Tensor u,
                                                                    torch::Tensor x, torch::Tensor U,
                                                                    torch::Tensor tau_fac, torch::Tensor tau_rec,
                                                                    double dt, double per_ms) {
  TORCH_CHECK(r.dim() == 2 && r.is_contiguous() && u.is_contiguous() && x.is_contiguous(), "contiguous [B, N]");
  TORCH_CHECK(r.sizes() == u.sizes() && r.sizes() == x.sizes(), "r, u and x must have one shape");
  const int64_t B = r.size(0), N = r.size(1);
  check_batch(U, B, "U");
  check_batch(tau_fac, B, "tau_fac");
  check_batch(tau_rec, B, "tau_rec");
  auto carried = torch::empty_like(r), u_new = torch::empty_like(u), x_new = torch::empty_like(x);
  AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "stp_advance", [&] {
    stp_rows<scalar_t>(ptr<scalar_t>(r), ptr<scalar_t>(u), ptr<scalar_t>(x), ptr<scalar_t>(U), ptr<scalar_t>(tau_fac),
                       ptr<scalar_t>(tau_rec), carried.data_ptr<scalar_t>(), u_new.data_ptr<scalar_t>(),
                       x_new.data_ptr<scalar_t>(), B, N, static_cast<scalar_t>(dt), static_cast<scalar_t>(per_ms));
  });
  return {carried, u_new, x_new};
}

// r' = r d + g [exc + inh + ext - theta]_+ (1 - d): the leaky update of a
// threshold-linear population. ext is [B, N] or [B, 1] (a constant drive).
torch::Tensor leaky_threshold_linear(torch::Tensor r, torch::Tensor exc, torch::Tensor inh, torch::Tensor ext,
                                     torch::Tensor threshold, torch::Tensor gain, torch::Tensor decay) {
  TORCH_CHECK(r.dim() == 2 && r.is_contiguous() && exc.is_contiguous() && inh.is_contiguous() &&
              ext.is_contiguous(), "contiguous [B, N]");
  TORCH_CHECK(r.sizes() == exc.sizes() && r.sizes() == inh.sizes(), "r, exc and inh must have one shape");
  const int64_t B = r.size(0), N = r.size(1);
  TORCH_CHECK(ext.dim() == 2 && ext.size(0) == B && (ext.size(1) == N || ext.size(1) == 1), "ext [B, N] or [B, 1]");
  check_batch(threshold, B, "threshold");
  check_batch(gain, B, "gain");
  check_batch(decay, B, "decay");
  const int64_t ext_stride = ext.size(1) == N ? 1 : 0;
  auto out = torch::empty_like(r);
  AT_DISPATCH_FLOATING_TYPES(r.scalar_type(), "leaky_threshold_linear", [&] {
    const scalar_t *rp = ptr<scalar_t>(r), *ep = ptr<scalar_t>(exc), *ip = ptr<scalar_t>(inh);
    const scalar_t *xp = ptr<scalar_t>(ext), *th = ptr<scalar_t>(threshold), *g = ptr<scalar_t>(gain);
    const scalar_t* d = ptr<scalar_t>(decay);
    scalar_t* op = out.data_ptr<scalar_t>();
    at::parallel_for(0, B, std::max<int64_t>(1, 16384 / std::max<int64_t>(N, 1)), [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b) {
        const scalar_t tb = th[b], gb = g[b], db = d[b], keep = scalar_t(1) - db;
        const scalar_t* e = ep + b * N;
        const scalar_t* i = ip + b * N;
        const scalar_t* x = xp + b * (ext_stride ? N : 1);
        const scalar_t* r0 = rp + b * N;
        scalar_t* o = op + b * N;
        _Pragma("omp simd") for (int64_t j = 0; j < N; ++j) {  // _Pragma: a #pragma cannot sit in a macro
          const scalar_t drive = e[j] + i[j] + x[j * ext_stride] - tb;
          o[j] = r0[j] * db + gb * (drive > 0 ? drive : scalar_t(0)) * keep;
        }
      }
    });
  });
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("stp_advance", &stp_advance, "u x r now, and u, x after dt (exact for r held)");
  m.def("leaky_threshold_linear", &leaky_threshold_linear, "leaky update of a threshold-linear population");
}
