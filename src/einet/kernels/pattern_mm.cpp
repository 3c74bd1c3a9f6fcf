// y[b, i] = w[b] * sum_{k in row i} x[b, col[k]]
//
// The product of a 0/1 sparse pattern (int32 indices, no values: every synapse of
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
//
// The pattern is held segmented (segment_pattern, segmented_mv, segmented_mm): the sources
// are cut into segments of L neurons and each segment gets its own CSR over the
// targets with 2-byte local indices, so each synapse costs 2 bytes of index
// instead of the CSR's 4 (and torch's 4-byte value besides). The caller picks L:
// for a batch, so that a packed chunk of one segment (L x 64 bytes) fills the L2
// where the whole source range would not (a 40,000 neuron chunk is 2.6 MB against
// 1 MB of L2 here), and each sweep gathers from one segment at a time; for one
// vector, as many sources as the 2-byte index reaches (fewer segments cost less
// per row). A row's sum is its segments' partial sums added in segment order:
// deterministic, and equal to the plain CSR product up to float rounding.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <vector>

namespace {

constexpr int CHUNK = 16;
constexpr int LANES = 4;

// [B, n] -> [ceil(B / CHUNK), stride, CHUNK], zero-padded past B (sources from n to stride are left as
// they are: zeros where the caller allocated with zeros).
template <typename scalar_t>
void pack(const scalar_t* x, scalar_t* packed, int64_t B, int64_t n, int64_t stride) {
  const int64_t chunks = (B + CHUNK - 1) / CHUNK;
  at::parallel_for(0, chunks * n, 2048, [&](int64_t begin, int64_t end) {
    for (int64_t cj = begin; cj < end; ++cj) {
      const int64_t c = cj / n, j = cj % n;
      scalar_t* out = packed + (c * stride + j) * CHUNK;
      for (int64_t b = 0; b < CHUNK; ++b) {
        const int64_t row = c * CHUNK + b;
        out[b] = row < B ? x[row * n + j] : scalar_t(0);
      }
    }
  });
}

// Rows [begin, end) of a segmented pattern swept for one vector: y[i] = w * sum over segments, in order.
template <typename scalar_t>
void segmented_rows_one(const int64_t* seg_crow, const uint16_t* local, const scalar_t* x, scalar_t* y, scalar_t w,
                        int64_t n_target, int64_t segments, int64_t length, int64_t begin, int64_t end) {
  constexpr int W = 16;
  for (int64_t i = begin; i < end; ++i) y[i] = scalar_t(0);
  for (int64_t g = 0; g < segments; ++g) {
    const int64_t* rows = seg_crow + g * (n_target + 1);
    const scalar_t* xs = x + g * length;
    for (int64_t i = begin; i < end; ++i) {
      scalar_t part[W] = {};
      int64_t k = rows[i];
      const int64_t stop = rows[i + 1];
      for (; k + W <= stop; k += W) {
#pragma omp simd
        for (int l = 0; l < W; ++l) part[l] += xs[local[k + l]];
      }
      for (int l = 0; k < stop; ++k, ++l) part[l] += xs[local[k]];
      for (int half = W / 2; half > 0; half /= 2)
        for (int l = 0; l < half; ++l) part[l] += part[l + half];
      y[i] += part[0];
    }
  }
  for (int64_t i = begin; i < end; ++i) y[i] *= w;
}

// Rows [begin, end) of one packed chunk of the batch: acc[i - begin] (CHUNK wide) summed over segments.
template <typename scalar_t>
void segmented_rows_chunk(const int64_t* seg_crow, const uint16_t* local, const scalar_t* xc, scalar_t* acc,
                          int64_t n_target, int64_t segments, int64_t length, int64_t begin, int64_t end) {
  std::fill(acc, acc + (end - begin) * CHUNK, scalar_t(0));
  for (int64_t g = 0; g < segments; ++g) {
    const int64_t* rows = seg_crow + g * (n_target + 1);
    const scalar_t* xs = xc + g * length * CHUNK;
    for (int64_t i = begin; i < end; ++i) {
      scalar_t part[LANES][CHUNK] = {};
      int64_t k = rows[i];
      const int64_t stop = rows[i + 1];
      for (; k + LANES <= stop; k += LANES) {
        for (int l = 0; l < LANES; ++l) {
          const scalar_t* xr = xs + static_cast<int64_t>(local[k + l]) * CHUNK;
#pragma omp simd
          for (int b = 0; b < CHUNK; ++b) part[l][b] += xr[b];
        }
      }
      for (; k < stop; ++k) {
        const scalar_t* xr = xs + static_cast<int64_t>(local[k]) * CHUNK;
#pragma omp simd
        for (int b = 0; b < CHUNK; ++b) part[0][b] += xr[b];
      }
      scalar_t* a = acc + (i - begin) * CHUNK;
      for (int b = 0; b < CHUNK; ++b) {
        scalar_t sum = part[0][b];
        for (int l = 1; l < LANES; ++l) sum += part[l][b];
        a[b] += sum;
      }
    }
  }
}

//: Rows per task of a segmented sweep: each task walks every segment once for its rows.
constexpr int64_t ROW_BLOCK = 2048;

}  // namespace

// Cut a CSR pattern's sources into segments of `length`: [segments, n_target + 1] int64 row
// pointers (one CSR per segment) and the synapses' uint16 indices within their segment.
std::vector<torch::Tensor> segment_pattern(torch::Tensor crow, torch::Tensor col, int64_t n_source, int64_t length) {
  TORCH_CHECK(crow.scalar_type() == torch::kInt32 && col.scalar_type() == torch::kInt32 && crow.is_contiguous() &&
                  col.is_contiguous() && crow.device().is_cpu(),
              "contiguous int32 CPU indices expected");
  TORCH_CHECK(length >= 1 && length <= 65536, "segment length must lie in [1, 65536], got ", length);
  const int64_t n_target = crow.size(0) - 1, segments = std::max<int64_t>(1, (n_source + length - 1) / length);
  const int32_t* cr = crow.data_ptr<int32_t>();
  const int32_t* cl = col.data_ptr<int32_t>();
  auto seg_crow = torch::zeros({segments, n_target + 1}, crow.options().dtype(torch::kInt64));
  int64_t* sc = seg_crow.data_ptr<int64_t>();
  bool ok = true;
  for (int64_t i = 0; i < n_target; ++i)
    for (int32_t k = cr[i]; k < cr[i + 1]; ++k) {
      if (cl[k] < 0 || cl[k] >= n_source) ok = false;
      else ++sc[(cl[k] / length) * (n_target + 1) + i + 1];
    }
  TORCH_CHECK(ok, "segment_pattern: a column index lies outside [0, ", n_source, ")");
  int64_t total = 0;
  for (int64_t g = 0; g < segments; ++g) {
    int64_t* rows = sc + g * (n_target + 1);
    rows[0] = total;
    for (int64_t i = 0; i < n_target; ++i) rows[i + 1] = (total += rows[i + 1]);
  }
  auto local = torch::empty({total}, crow.options().dtype(torch::kInt16));
  uint16_t* lp = reinterpret_cast<uint16_t*>(local.data_ptr<int16_t>());
  std::vector<int64_t> next(segments);
  for (int64_t i = 0; i < n_target; ++i) {
    for (int64_t g = 0; g < segments; ++g) next[g] = sc[g * (n_target + 1) + i];
    for (int32_t k = cr[i]; k < cr[i + 1]; ++k) {
      const int64_t g = cl[k] / length;
      lp[next[g]++] = static_cast<uint16_t>(cl[k] - g * length);
    }
  }
  return {seg_crow, local};
}

namespace {
void check_segmented(const torch::Tensor& seg_crow, const torch::Tensor& local, int64_t n_source, int64_t length) {
  TORCH_CHECK(seg_crow.scalar_type() == torch::kInt64 && seg_crow.dim() == 2 && seg_crow.is_contiguous() &&
                  local.scalar_type() == torch::kInt16 && local.is_contiguous(),
              "a segmented pattern from segment_pattern expected");
  TORCH_CHECK(seg_crow.size(0) == std::max<int64_t>(1, (n_source + length - 1) / length),
              "the pattern has ", seg_crow.size(0), " segments, not those of ", n_source, " sources in ", length);
}
}  // namespace

// y = w * S x for one vector x [n_source] through a segmented pattern.
torch::Tensor segmented_mv(torch::Tensor seg_crow, torch::Tensor local, torch::Tensor x, double w, int64_t length) {
  TORCH_CHECK(x.dim() == 1 && x.is_contiguous() && x.device().is_cpu(), "contiguous CPU [n_source] expected");
  check_segmented(seg_crow, local, x.size(0), length);
  const int64_t segments = seg_crow.size(0), n_target = seg_crow.size(1) - 1;
  auto y = torch::empty({n_target}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segmented_mv", [&] {
    const int64_t* sc = seg_crow.data_ptr<int64_t>();
    const uint16_t* lp = reinterpret_cast<const uint16_t*>(local.data_ptr<int16_t>());
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    at::parallel_for(0, n_target, ROW_BLOCK, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; b += ROW_BLOCK)
        segmented_rows_one<scalar_t>(sc, lp, xp, yp, static_cast<scalar_t>(w), n_target, segments, length, b,
                                     std::min(end, b + ROW_BLOCK));
    });
  });
  return y;
}

// y[b] = w[b] * S x[b] for a batch x [B, n_source] through a segmented pattern, packed in chunks of CHUNK.
torch::Tensor segmented_mm(torch::Tensor seg_crow, torch::Tensor local, torch::Tensor x, torch::Tensor w,
                           int64_t length) {
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous() && x.device().is_cpu(), "contiguous CPU [B, n_source] expected");
  const int64_t B = x.size(0), n_source = x.size(1);
  check_segmented(seg_crow, local, n_source, length);
  TORCH_CHECK(w.dim() == 1 && w.size(0) == B && w.is_contiguous() && w.scalar_type() == x.scalar_type(),
              "w must be a contiguous [B] vector of x's dtype");
  const int64_t segments = seg_crow.size(0), n_target = seg_crow.size(1) - 1;
  const int64_t chunks = (B + CHUNK - 1) / CHUNK;
  // packed sources padded to whole segments, so a segment's chunk is always length x CHUNK
  auto packed = torch::zeros({chunks, segments * length, CHUNK}, x.options());
  auto y = torch::empty({B, n_target}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "segmented_mm", [&] {
    const int64_t* sc = seg_crow.data_ptr<int64_t>();
    const uint16_t* lp = reinterpret_cast<const uint16_t*>(local.data_ptr<int16_t>());
    const scalar_t* xp = x.data_ptr<scalar_t>();
    scalar_t* pk = packed.data_ptr<scalar_t>();
    const int64_t stride = segments * length;
    pack<scalar_t>(xp, pk, B, n_source, stride);
    const scalar_t* wp = w.data_ptr<scalar_t>();
    scalar_t* yp = y.data_ptr<scalar_t>();
    for (int64_t c = 0; c < chunks; ++c) {
      const int64_t rows = std::min<int64_t>(CHUNK, B - c * CHUNK);
      at::parallel_for(0, n_target, ROW_BLOCK, [&](int64_t begin, int64_t end) {
        std::vector<scalar_t> acc(ROW_BLOCK * CHUNK);
        for (int64_t b0 = begin; b0 < end; b0 += ROW_BLOCK) {
          const int64_t b1 = std::min(end, b0 + ROW_BLOCK);
          segmented_rows_chunk<scalar_t>(sc, lp, pk + c * stride * CHUNK, acc.data(), n_target, segments, length, b0,
                                         b1);
          for (int64_t b = 0; b < rows; ++b) {
            const scalar_t wb = wp[c * CHUNK + b];
            scalar_t* yr = yp + (c * CHUNK + b) * n_target;
            for (int64_t i = b0; i < b1; ++i) yr[i] = wb * acc[(i - b0) * CHUNK + b];
          }
        }
      });
    }
  });
  return y;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("segment_pattern", &segment_pattern, "a CSR pattern cut into source segments with uint16 local indices");
  m.def("segmented_mv", &segmented_mv, "segmented 0/1 pattern times one vector [N], scaled by w");
  m.def("segmented_mm", &segmented_mm, "segmented 0/1 pattern times a batch [B, N], row b scaled by w[b]");
}
