// One step of a LIF network (einet.network.spiking) in one pass, for the CPU.
//
// In plain torch a step is some thirty small operations (arrivals scattered into a zeroed buffer,
// receptor currents, the exact membrane update, threshold, reset, refractory countdown, nonzero for
// the spike events); each is a pass over [B, N] plus dispatch overhead. Here: scatter the spikes that
// arrive (through the padded source-major tables, in the order torch's index_add_ uses), then update
// every neuron once, then list the step's spikes. The arithmetic follows einet.neurons.lif.lif_step
// and SpikingNetwork.step term by term, with scalar parameters (the network uses this kernel only
// when every LIF parameter is shared by all neurons and batch elements); tests compare both paths.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace {

// One neuron of einet.neurons.lif.lif_step, term by term: the exact membrane update with drive d and the
// arriving synaptic input, threshold, reset, refractory countdown, the 0/1 spike and the decayed current.
template <typename scalar_t>
inline void lif_neuron(scalar_t d, scalar_t arriving, scalar_t& v, scalar_t& i_syn, scalar_t& refr, scalar_t& spike,
                       scalar_t a, scalar_t one_minus_a, scalar_t f, scalar_t syn_decay, scalar_t v_rest,
                       scalar_t v_th, scalar_t v_reset, scalar_t n_ref) {
  const scalar_t i = i_syn + arriving;
  const scalar_t v_free = v_rest + (v - v_rest) * a + d * one_minus_a + i * f;
  const scalar_t r0 = refr;
  const bool active = r0 <= 0;
  const bool fired = active & (v_free >= v_th);
  v = (fired | !active) ? v_reset : v_free;
  const scalar_t countdown = r0 - scalar_t(1);
  refr = fired ? n_ref : (countdown > 0 ? countdown : scalar_t(0));
  spike = fired ? scalar_t(1) : scalar_t(0);
  i_syn = i * syn_decay;
}

// Neurons are updated in blocks of BLOCK, each block's spikes counted in the same vector loop; only a
// block with spikes is scanned for them, while it is still in L1 (spikes are rare: a separate pass over
// the whole [B, N] spike array cost as much as the update itself).
constexpr int64_t BLOCK = 256;

// The (batch, neuron) events of block [k0, k1) of row b, in neuron order, from the block's spike flags
// (a small buffer in L1); each is also set in the row's spike array `so`, whose entries of the previous
// step were cleared before the update: the [B, N] spike array is written only where neurons spiked.
template <typename scalar_t>
inline void list_spikes(const scalar_t* flags, scalar_t* so, int64_t b, int64_t k0, int64_t k1,
                        std::vector<int64_t>& bs, std::vector<int64_t>& js) {
  for (int64_t k = k0; k < k1; ++k)
    if (flags[k - k0] != 0) { bs.push_back(b); js.push_back(k); so[k] = scalar_t(1); }
}

// One batch row of the one-extra-receptor case; the drive test is a template argument so the loop vectorises,
// and so is Direct (arrivals already added to the currents: ab and ar are not read).
template <typename scalar_t, bool HasDrive, bool Direct>
void one_receptor_row(const scalar_t* __restrict ab, const scalar_t* __restrict ar, const scalar_t* __restrict db,
                      scalar_t* __restrict vb, scalar_t* __restrict ib, scalar_t* __restrict rb,
                      scalar_t* __restrict cb, scalar_t* __restrict so, int64_t N, scalar_t g1, scalar_t dec,
                      scalar_t a, scalar_t one_minus_a, scalar_t f, scalar_t syn_decay, scalar_t v_rest, scalar_t v_th,
                      scalar_t v_reset, scalar_t n_ref, int64_t b, std::vector<int64_t>& bs, std::vector<int64_t>& js) {
  for (int64_t k0 = 0; k0 < N; k0 += BLOCK) {
    const int64_t k1 = std::min(N, k0 + BLOCK);
    scalar_t fired = 0;
    scalar_t flags[BLOCK];
#pragma omp simd reduction(+ : fired)
    for (int64_t k = k0; k < k1; ++k) {  // SpikingNetwork.step and einet.neurons.lif.lif_step, term by term
      const scalar_t cur = Direct ? cb[k] : cb[k] + ar[k];
      scalar_t d = cur * g1;
      cb[k] = cur * dec;
      if constexpr (HasDrive) d = db[k] + d;
      lif_neuron(d, Direct ? scalar_t(0) : ab[k], vb[k], ib[k], rb[k], flags[k - k0], a, one_minus_a, f, syn_decay,
                 v_rest, v_th, v_reset, n_ref);
      fired += flags[k - k0];
    }
    if (fired != 0) list_spikes(flags, so, b, k0, k1, bs, js);
  }
}

// Updates v, i_syn, refr and currents in place (the network owns them; fresh [B, N] outputs every step
// would cost more in page faults than the arithmetic), writes this step's 0/1 spikes into `spikes` and
// the arrivals into `arrived` (both reused buffers), and returns the spike events (batch, neuron).
template <typename scalar_t>
std::vector<torch::Tensor> step_impl(torch::Tensor& v, torch::Tensor& i_syn, torch::Tensor& refr,
                                     torch::Tensor& currents, const torch::Tensor& gain,
                                     const torch::Tensor& receptor_decay, const torch::Tensor& drive,
                                     torch::Tensor& spikes, torch::Tensor& arrived, const torch::Tensor& previous_b,
                                     const torch::Tensor& previous_j,
                                     const std::vector<torch::Tensor>& event_b, const std::vector<torch::Tensor>& event_j,
                                     const std::vector<torch::Tensor>& targets, const std::vector<torch::Tensor>& projections,
                                     const std::vector<torch::Tensor>& scales,
                                     const std::vector<torch::Tensor>& clear_b, const std::vector<torch::Tensor>& clear_j,
                                     const std::vector<torch::Tensor>& clear_targets, bool direct, double gain1_d, double a_d, double f_d, double syn_decay_d, double v_rest_d, double v_th_d,
                                     double v_reset_d, double n_ref_d) {
  const int64_t B = v.size(0), N = v.size(1), R1 = currents.size(1), R = R1 + 1, n_flat = R * N;
  scalar_t* arr = arrived.data_ptr<scalar_t>();
  // the buffer holds the previous step's arrivals: zero just those entries (not the whole [B, R, N])
  for (size_t g = 0; g < (direct ? 0 : clear_j.size()); ++g) {
    const int64_t E = clear_j[g].numel(), width = clear_targets[g].size(1);
    const int64_t* eb = clear_b[g].data_ptr<int64_t>();
    const int64_t* ej = clear_j[g].data_ptr<int64_t>();
    const int32_t* tg = clear_targets[g].data_ptr<int32_t>();
    for (int64_t e = 0; e < E; ++e) {
      const int32_t* row = tg + ej[e] * width;
      scalar_t* out = arr + eb[e] * n_flat;
      for (int64_t c = 0; c < width; ++c)
        if (row[c] < n_flat) out[row[c]] = scalar_t(0);
    }
  }
  // direct: arrivals go straight into the receptor currents (receptor 0: i_syn; r >= 1: currents[:, r - 1]),
  // which is where the update adds them anyway; the arrivals buffer is then neither read nor cleared, so
  // the step touches only the state (a batch of 16 CUBA networks then works from L2 instead of L3)
  scalar_t* const isp = i_syn.data_ptr<scalar_t>();
  scalar_t* const csp = currents.data_ptr<scalar_t>();
  for (size_t g = 0; g < targets.size(); ++g) {  // arrivals, group by group, events in order
    const int64_t E = event_j[g].numel(), width = targets[g].size(1);
    const int64_t* eb = event_b[g].data_ptr<int64_t>();
    const int64_t* ej = event_j[g].data_ptr<int64_t>();
    // a synapse's weight is its projection's weight in this batch element: scales[b, projection]
    const int32_t* tg = targets[g].data_ptr<int32_t>();
    const int16_t* pg = projections[g].data_ptr<int16_t>();
    const scalar_t* sc = scales[g].data_ptr<scalar_t>();
    const int64_t n_proj = scales[g].size(1);
    for (int64_t e = 0; e < E; ++e) {
      const int64_t b = eb[e], j = ej[e];
      const int32_t* row = tg + j * width;
      const int16_t* pr = pg + j * width;
      const scalar_t* wb = sc + b * n_proj;
      if (direct) {
        scalar_t* own = isp + b * N;
        scalar_t* other = csp + b * R1 * N;  // flat index t >= N is currents[b, t / N - 1, t % N]
        for (int64_t c = 0; c < width; ++c) {
          const int64_t t = row[c];
          if (t < N) own[t] += wb[pr[c]];
          else if (t < n_flat) other[t - N] += wb[pr[c]];
        }
      } else {
        scalar_t* out = arr + b * n_flat;
        for (int64_t c = 0; c < width; ++c)
          if (row[c] < n_flat) out[row[c]] += wb[pr[c]];
      }
    }
  }
  // with direct arrivals the general update reads a zero row in place of each arrivals row
  std::vector<scalar_t> zero_row(direct && !(R1 == 1 && gain1_d >= 0) ? R * N : 0, scalar_t(0));
  {  // the spike array holds the previous step's spikes (its events): clear just those
    const int64_t E = previous_j.numel();
    const int64_t* pb = previous_b.data_ptr<int64_t>();
    const int64_t* pj = previous_j.data_ptr<int64_t>();
    scalar_t* spk = spikes.data_ptr<scalar_t>();
    for (int64_t e = 0; e < E; ++e) spk[pb[e] * N + pj[e]] = scalar_t(0);
  }
  const scalar_t a = scalar_t(a_d), one_minus_a = scalar_t(1.0 - a_d), f = scalar_t(f_d),
                 syn_decay = scalar_t(syn_decay_d), v_rest = scalar_t(v_rest_d), v_th = scalar_t(v_th_d),
                 v_reset = scalar_t(v_reset_d), n_ref = scalar_t(n_ref_d);
  scalar_t *vp = v.data_ptr<scalar_t>(), *ip = i_syn.data_ptr<scalar_t>(), *rp = refr.data_ptr<scalar_t>(),
           *cp = currents.data_ptr<scalar_t>(), *sp = spikes.data_ptr<scalar_t>();
  const scalar_t *gp = gain.data_ptr<scalar_t>(), *dp = receptor_decay.data_ptr<scalar_t>();
  const scalar_t* drp = drive.numel() ? drive.data_ptr<scalar_t>() : nullptr;
  const bool gain_batched = gain.size(0) == B && B > 1;
  std::vector<int64_t> bs, js;  // the step's spike events, in (batch, neuron) order
  // one extra receptor with a gain shared by all neurons (gain1 >= 0; the common case, e.g. CUBA): one pass
  if (R1 == 1 && gain1_d >= 0) {
    const scalar_t g1 = scalar_t(gain1_d), dec = dp[0];
    for (int64_t b = 0; b < B; ++b) {
      const scalar_t* ab = arr + b * n_flat;
      const scalar_t* db = drp ? drp + b * N : nullptr;
      auto row = drp ? (direct ? one_receptor_row<scalar_t, true, true> : one_receptor_row<scalar_t, true, false>)
                     : (direct ? one_receptor_row<scalar_t, false, true> : one_receptor_row<scalar_t, false, false>);
      row(ab, ab + N, db, vp + b * N, ip + b * N, rp + b * N, cp + b * N, sp + b * N, N, g1, dec, a, one_minus_a, f,
          syn_decay, v_rest, v_th, v_reset, n_ref, b, bs, js);
    }
  }
  std::vector<scalar_t> dv(N);
  for (int64_t b = 0; b < B && !(R1 == 1 && gain1_d >= 0); ++b) {
    const scalar_t* __restrict ab = direct ? zero_row.data() : arr + b * n_flat;
    const scalar_t* __restrict gb = gp + (gain_batched ? b * R1 * N : 0);
    const scalar_t* __restrict db = drp ? drp + b * N : nullptr;
    scalar_t* __restrict vb = vp + b * N;
    scalar_t* __restrict ib = ip + b * N;
    scalar_t* __restrict rb = rp + b * N;
    scalar_t* __restrict so = sp + b * N;
    scalar_t* __restrict d = dv.data();
    // d: the drive of the other receptors (plus the external drive), as SpikingNetwork.step forms it
    for (int64_t r = 0; r < R1; ++r) {
      const scalar_t* __restrict ar = ab + (r + 1) * N;
      const scalar_t* __restrict gr = gb + r * N;
      scalar_t* __restrict cb = cp + (b * R1 + r) * N;
      const scalar_t dec = dp[r];
      if (r == 0) {
#pragma omp simd
        for (int64_t k = 0; k < N; ++k) { const scalar_t cur = cb[k] + ar[k]; d[k] = cur * gr[k]; cb[k] = cur * dec; }
      } else {
#pragma omp simd
        for (int64_t k = 0; k < N; ++k) { const scalar_t cur = cb[k] + ar[k]; d[k] = d[k] + cur * gr[k]; cb[k] = cur * dec; }
      }
    }
    if (R1 == 0) std::fill(dv.begin(), dv.end(), scalar_t(0));
    if (db) {
      if (R1 > 0) {
#pragma omp simd
        for (int64_t k = 0; k < N; ++k) d[k] = db[k] + d[k];
      } else {
#pragma omp simd
        for (int64_t k = 0; k < N; ++k) d[k] = db[k];
      }
    }
    for (int64_t k0 = 0; k0 < N; k0 += BLOCK) {
      const int64_t k1 = std::min(N, k0 + BLOCK);
      scalar_t fired = 0;
      scalar_t flags[BLOCK];
#pragma omp simd reduction(+ : fired)
      for (int64_t k = k0; k < k1; ++k) {  // einet.neurons.lif.lif_step, term by term
        lif_neuron(d[k], ab[k], vb[k], ib[k], rb[k], flags[k - k0], a, one_minus_a, f, syn_decay, v_rest, v_th,
                   v_reset, n_ref);
        fired += flags[k - k0];
      }
      if (fired != 0) list_spikes(flags, so, b, k0, k1, bs, js);
    }
  }
  auto opts = torch::TensorOptions().dtype(torch::kInt64);
  auto tb = torch::empty({(int64_t)bs.size()}, opts), tj = torch::empty({(int64_t)js.size()}, opts);
  std::copy(bs.begin(), bs.end(), tb.data_ptr<int64_t>());
  std::copy(js.begin(), js.end(), tj.data_ptr<int64_t>());
  return {tb, tj};
}

}  // namespace

std::vector<torch::Tensor> spiking_step(torch::Tensor v, torch::Tensor i_syn, torch::Tensor refr,
                                        torch::Tensor currents, torch::Tensor gain, torch::Tensor receptor_decay,
                                        torch::Tensor drive, torch::Tensor spikes, torch::Tensor arrived,
                                        torch::Tensor previous_b, torch::Tensor previous_j,
                                        std::vector<torch::Tensor> event_b, std::vector<torch::Tensor> event_j,
                                        std::vector<torch::Tensor> targets, std::vector<torch::Tensor> projections,
                                        std::vector<torch::Tensor> scales,
                                        std::vector<torch::Tensor> clear_b, std::vector<torch::Tensor> clear_j,
                                        std::vector<torch::Tensor> clear_targets, bool direct, double gain1, double a, double f, double syn_decay, double v_rest, double v_th,
                                        double v_reset, double n_ref) {
  for (const auto& t : scales)
    TORCH_CHECK(t.is_contiguous() && t.scalar_type() == v.scalar_type(), "scales must be contiguous, of the state's dtype");
  for (const auto& t : {v, i_syn, refr, currents, gain, receptor_decay, spikes, arrived})
    TORCH_CHECK(t.is_contiguous() && t.scalar_type() == v.scalar_type(), "spiking_step needs contiguous tensors "
                "of one dtype");
  std::vector<torch::Tensor> out;
  AT_DISPATCH_FLOATING_TYPES(v.scalar_type(), "spiking_step", [&] {
    out = step_impl<scalar_t>(v, i_syn, refr, currents, gain, receptor_decay, drive, spikes, arrived, previous_b,
                              previous_j, event_b,
                              event_j, targets, projections, scales, clear_b, clear_j, clear_targets, direct, gain1, a, f, syn_decay,
                              v_rest, v_th, v_reset, n_ref);
  });
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("spiking_step", &spiking_step, "one fused step of a LIF network with scalar parameters, in place");
}
