// y[b, i] = w[b] * sum_{k in row i} x[b, col[k]]
//
// The product of a 0/1 CSR pattern (int32 indices, no values: every synapse of
// a projection has the same weight) with a batch of B rate vectors, x and y
// both [B, N] as the network holds them; w[b] is that weight times the batch
// element's coupling, so the product comes out scaled.
//
// Why this shape: a gathered synapse costs about one cache line whether it
// brings one batch element or sixteen, so the batch is packed into chunks of
// CHUNK = 16 floats (one 64-byte line per source neuron, [B / CHUNK, n_source,
// CHUNK]) and the pattern is swept once per chunk. One chunk of sources (64
// bytes x n_source: 512 KB for 8,000 neurons) stays in L2 while its sweep
// gathers from it, instead of every synapse pulling a whole 1 KB row of a
// 256-wide batch from L3. The index array is re-read per chunk, but that is a
// sequential stream. Rows are split across threads; the summation order within
// a row is fixed, so results are deterministic.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace {

constexpr int CHUNK = 16;
constexpr int LANES = 4;

// [B, n] -> [ceil(B / CHUNK), n, CHUNK], zero-padded past B.
template <typename scalar_t>
void pack(const scalar_t* x, scalar_t* packed, int64_t B, int64_t n) {
  const int64_t chunks = (B + CHUNK - 1) / CHUNK;
  at::parallel_for(0, chunks * n, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t cj = begin; cj < end; ++cj) {
      const int64_t c = cj / n, j = cj % n;
      scalar_t* out = packed + cj * CHUNK;
      for (int64_t b = 0; b < CHUNK; ++b) {
        const int64_t row = c * CHUNK + b;
        out[b] = row < B ? x[row * n + j] : scalar_t(0);
      }
    }
  });
}

// One chunk of the batch: y[b, i] for b in [c * CHUNK, c * CHUNK + rows). FULL (rows == CHUNK) lets
// the compiler keep the CHUNK sums in vector registers; a loop bounded by a variable would put them
// in memory and cost several times more, so only a last, partial chunk takes that path.
template <typename scalar_t, bool FULL>
void sweep_chunk(const int32_t* crow, const int32_t* col, const scalar_t* xc, scalar_t* yc, const scalar_t* wc,
                 int64_t n_target, int64_t rows) {
  at::parallel_for(0, n_target, 64, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      // LANES independent sums over alternating synapses: one running sum would wait on its own
      // previous addition (the add latency) at every synapse
      scalar_t part[LANES][CHUNK] = {};
      int32_t k = crow[i];
      const int32_t stop = crow[i + 1];
      for (; k + LANES <= stop; k += LANES) {
        for (int l = 0; l < LANES; ++l) {
          const scalar_t* xr = xc + static_cast<int64_t>(col[k + l]) * CHUNK;
#pragma omp simd
          for (int b = 0; b < CHUNK; ++b) part[l][b] += xr[b];
        }
      }
      for (; k < stop; ++k) {
        const scalar_t* xr = xc + static_cast<int64_t>(col[k]) * CHUNK;
#pragma omp simd
        for (int b = 0; b < CHUNK; ++b) part[0][b] += xr[b];
      }
      scalar_t acc[CHUNK];
      for (int b = 0; b < CHUNK; ++b) {
        acc[b] = part[0][b];
        for (int l = 1; l < LANES; ++l) acc[b] += part[l][b];
      }
      if (FULL) {
        for (int b = 0; b < CHUNK; ++b) yc[b * n_target + i] = wc[b] * acc[b];
      } else {
        for (int64_t b = 0; b < rows; ++b) yc[b * n_target + i] = wc[b] * acc[b];
      }
    }
  });
}

template <typename scalar_t>
void sweep(const int32_t* crow, const int32_t* col, const scalar_t* packed, scalar_t* y, const scalar_t* w,
           int64_t n_target, int64_t n_source, int64_t B) {
  for (int64_t c = 0; c * CHUNK < B; ++c) {
    const int64_t rows = std::min<int64_t>(CHUNK, B - c * CHUNK);
    const scalar_t* xc = packed + c * n_source * CHUNK;
    scalar_t* yc = y + c * CHUNK * n_target;
    if (rows == CHUNK) {
      sweep_chunk<scalar_t, true>(crow, col, xc, yc, w + c * CHUNK, n_target, rows);
    } else {
      sweep_chunk<scalar_t, false>(crow, col, xc, yc, w + c * CHUNK, n_target, rows);
    }
  }
}

}  // namespace

torch::Tensor pattern_mm(torch::Tensor crow, torch::Tensor col, torch::Tensor x, torch::Tensor w) {
  TORCH_CHECK(crow.scalar_type() == torch::kInt32 && col.scalar_type() == torch::kInt32, "int32 indices expected");
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous() && x.device().is_cpu(), "contiguous CPU [B, n_source] expected");
  const int64_t n_target = crow.size(0) - 1;
  const int64_t B = x.size(0), n_source = x.size(1);
  TORCH_CHECK(w.dim() == 1 && w.size(0) == B && w.is_contiguous() && w.scalar_type() == x.scalar_type(),
              "w must be a contiguous [B] vector of x's dtype");
  const int64_t chunks = (B + CHUNK - 1) / CHUNK;
  auto packed = torch::empty({chunks, n_source, CHUNK}, x.options());
  auto y = torch::empty({B, n_target}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pattern_mm", [&] {
    pack<scalar_t>(x.data_ptr<scalar_t>(), packed.data_ptr<scalar_t>(), B, n_source);
    sweep<scalar_t>(crow.data_ptr<int32_t>(), col.data_ptr<int32_t>(), packed.data_ptr<scalar_t>(),
                    y.data_ptr<scalar_t>(), w.data_ptr<scalar_t>(), n_target, n_source, B);
  });
  return y;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("pattern_mm", &pattern_mm, "0/1 CSR pattern times a batch [B, N]"); }
