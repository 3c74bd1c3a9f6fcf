// y[i, b] = w * sum_{k in row i} x[col[k], b]
//
// The product of a 0/1 CSR pattern (int32 indices, no values: every synapse of
// a projection has the same weight) with a row-major [n_source, B] block of
// B batch elements. Each synapse reads 4 bytes of index and one contiguous row
// of B values, so B parameter sets cost little more than one. Rows are split
// across threads; the summation order within a row is fixed, so results are
// deterministic.
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <vector>

namespace {

template <typename scalar_t, int BB>
void rows_fixed(const int32_t* crow, const int32_t* col, const scalar_t* x, scalar_t* y, scalar_t w,
                int64_t n_target) {
  at::parallel_for(0, n_target, 256, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      scalar_t acc[BB] = {0};
      for (int32_t k = crow[i]; k < crow[i + 1]; ++k) {
        const scalar_t* xr = x + static_cast<int64_t>(col[k]) * BB;
#pragma omp simd
        for (int b = 0; b < BB; ++b) acc[b] += xr[b];
      }
      for (int b = 0; b < BB; ++b) y[i * BB + b] = w * acc[b];
    }
  });
}

template <typename scalar_t>
void rows_any(const int32_t* crow, const int32_t* col, const scalar_t* x, scalar_t* y, scalar_t w,
              int64_t n_target, int64_t B) {
  at::parallel_for(0, n_target, 256, [&](int64_t begin, int64_t end) {
    std::vector<scalar_t> acc(B);
    for (int64_t i = begin; i < end; ++i) {
      std::fill(acc.begin(), acc.end(), scalar_t(0));
      for (int32_t k = crow[i]; k < crow[i + 1]; ++k) {
        const scalar_t* xr = x + static_cast<int64_t>(col[k]) * B;
        for (int64_t b = 0; b < B; ++b) acc[b] += xr[b];
      }
      for (int64_t b = 0; b < B; ++b) y[i * B + b] = w * acc[b];
    }
  });
}

template <typename scalar_t>
void dispatch(const int32_t* cr, const int32_t* cl, const scalar_t* xp, scalar_t* yp, scalar_t w, int64_t n,
              int64_t B) {
  switch (B) {
    case 2: rows_fixed<scalar_t, 2>(cr, cl, xp, yp, w, n); break;
    case 4: rows_fixed<scalar_t, 4>(cr, cl, xp, yp, w, n); break;
    case 8: rows_fixed<scalar_t, 8>(cr, cl, xp, yp, w, n); break;
    case 16: rows_fixed<scalar_t, 16>(cr, cl, xp, yp, w, n); break;
    case 32: rows_fixed<scalar_t, 32>(cr, cl, xp, yp, w, n); break;
    default: rows_any<scalar_t>(cr, cl, xp, yp, w, n, B);
  }
}

}  // namespace

torch::Tensor pattern_mm(torch::Tensor crow, torch::Tensor col, torch::Tensor x, double w) {
  TORCH_CHECK(crow.scalar_type() == torch::kInt32 && col.scalar_type() == torch::kInt32, "int32 indices expected");
  TORCH_CHECK(x.dim() == 2 && x.is_contiguous() && x.device().is_cpu(), "contiguous CPU [n_source, B] expected");
  const int64_t n_target = crow.size(0) - 1;
  const int64_t B = x.size(1);
  auto y = torch::empty({n_target, B}, x.options());
  AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "pattern_mm", [&] {
    dispatch<scalar_t>(crow.data_ptr<int32_t>(), col.data_ptr<int32_t>(), x.data_ptr<scalar_t>(),
                       y.data_ptr<scalar_t>(), static_cast<scalar_t>(w), n_target, B);
  });
  return y;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("pattern_mm", &pattern_mm, "0/1 CSR pattern times a dense block"); }
