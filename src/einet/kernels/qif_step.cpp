// One exact step of quadratic integrate-and-fire neurons, tau v' = v^2 + c with c = eta + I_ext + i_syn
// held over the step (einet.neurons.qif.qif_step, the torch reference): the time to the peak from v and
// from the reset, the spikes of the step (several where the period is shorter than dt), and v at the
// step's end from the exact solution. torch's path builds about a hundred small tensors a step for
// this; here each neuron is one pass through registers. The formulas and their order of operations
// follow the torch path, so results agree with it to the last bits of the math library's functions.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <cmath>
#include <limits>

namespace {

template <typename T>
T time_to_peak(T v0, T v_peak, T c, T tau) {
  const T inf = std::numeric_limits<T>::infinity();
  if (v0 >= v_peak) return T(0);
  const T r = std::sqrt(std::abs(c));
  const T r_safe = r > 0 ? r : T(1);
  const T x = c + v_peak * v0;
  const T y = v_peak - v0;
  if (c > 0) return tau / r_safe * std::atan2(r * y, x);
  const T x_safe = x > 0 ? x : T(1);
  if (c < 0) {
    const T z = r * y / x_safe;
    return (x > 0 && z < 1) ? tau / r_safe * std::atanh(z) : inf;
  }
  return x > 0 ? tau * y / x_safe : inf;
}

template <typename T>
T evolve(T v0, T c, T t, T tau) {
  const T s = t / tau;
  const T u = c * s * s;
  const T a = std::sqrt(std::abs(u));
  T ratio;
  if (a > T(1e-6)) ratio = u > 0 ? std::tan(a) / a : std::tanh(a) / a;
  else ratio = T(1) + u / T(3);
  const T G = s * ratio;
  return (v0 + c * G) / (T(1) - v0 * G);
}

// element k of a tensor given as a scalar (numel 1), per neuron (numel n, the last dimension) or whole
template <typename T>
inline T element(const T* p, int64_t numel, int64_t n, int64_t k) {
  return numel == 1 ? p[0] : (numel == n ? p[k % n] : p[k]);
}

}  // namespace

// Returns (spikes, v, i_syn) for state (v, i_syn) [..., n]; eta, drive: numel 1, n or v's numel;
// arriving: empty or v's shape, added to i_syn first.
std::vector<torch::Tensor> qif_step(torch::Tensor v, torch::Tensor i_syn, torch::Tensor eta, torch::Tensor drive,
                                    torch::Tensor arriving, double tau, double v_peak, double v_reset, double dt,
                                    double syn_decay) {
  TORCH_CHECK(v.device().is_cpu() && v.is_contiguous() && i_syn.is_contiguous() && i_syn.sizes() == v.sizes(),
              "qif_step: contiguous CPU v and i_syn of one shape expected");
  const int64_t total = v.numel(), n = v.dim() ? v.size(-1) : 1;
  for (const torch::Tensor* t : {&eta, &drive})
    TORCH_CHECK(t->is_contiguous() && t->scalar_type() == v.scalar_type() &&
                    (t->numel() == 1 || t->numel() == n || t->numel() == total),
                "qif_step: eta and drive must be contiguous, of v's dtype, with 1, n or all of v's elements");
  const bool has_arriving = arriving.numel() > 0;
  TORCH_CHECK(!has_arriving || (arriving.is_contiguous() && arriving.sizes() == v.sizes() &&
                                arriving.scalar_type() == v.scalar_type()),
              "qif_step: arriving must be empty or shaped like v");
  auto spikes = torch::empty_like(v), v_out = torch::empty_like(v), i_out = torch::empty_like(v);
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "qif_step", [&] {
    using T = scalar_t;
    const T* vp = v.data_ptr<T>();
    const T* ip = i_syn.data_ptr<T>();
    const T* ep = eta.data_ptr<T>();
    const T* dp = drive.data_ptr<T>();
    const T* ap = has_arriving ? arriving.data_ptr<T>() : nullptr;
    T* sp = spikes.data_ptr<T>();
    T* vo = v_out.data_ptr<T>();
    T* io = i_out.data_ptr<T>();
    const T tau_ = T(tau), peak = T(v_peak), reset = T(v_reset), dt_ = T(dt), decay_ = T(syn_decay);
    const T inf = std::numeric_limits<T>::infinity();
    const int64_t en = eta.numel(), dn = drive.numel();
    at::parallel_for(0, total, 4096, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        const T i = ap ? ip[k] + ap[k] : ip[k];
        const T c = element(ep, en, n, k) + element(dp, dn, n, k) + i;
        const T v0 = vp[k];
        const T t_first = time_to_peak(v0, peak, c, tau_);
        const T period = time_to_peak(reset, peak, c, tau_);
        const bool fired = t_first <= dt_;
        T rest = fired ? dt_ - t_first : T(0);
        const bool more = fired && period > 0 && std::isfinite(period);
        const T extra = std::floor(rest / (more ? period : inf));
        rest = rest - extra * (more ? period : T(0));
        vo[k] = evolve(fired ? reset : v0, c, fired ? rest : dt_, tau_);
        sp[k] = (fired ? T(1) : T(0)) * (T(1) + extra);
        io[k] = i * decay_;
      }
    });
  });
  return {spikes, v_out, i_out};
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("qif_step", &qif_step, "one exact QIF step: (spikes, v, i_syn)");
}
