// counts[i, j, a, b] = #{s : x[i, s] == a and y[j, s] == b}   (optionally only where valid[i, s])
//
// Joint histograms of every (input i, output j) pair, the inner loop of
// ei_parts / sensitivity (einet.analysis.histogram.count_pairs). torch's path
// builds one int key per (i, j, s) and calls bincount: it writes and re-reads
// 4-8 bytes of key per increment and scatters into a table far larger than
// the cache. Here each task owns one pair (i, j): a 16 KB int32 table for 64 x
// 64 bins that stays in L1 while the rows x[i, :] and y[j, :] stream through
// in order, so an increment costs two sequential loads and one L1 add.
// Pairs are split across threads (at::parallel_for), each pair's table is
// written to its own slice of the output, and integer counts are exact, so
// results are deterministic and equal to bincount's.
//
// pair_information fuses the counting with the plug-in mutual information of each
// pair's table while the table is still in L1: marginals from the table, then one
// logarithm per occupied cell, c log2(c n / (cx cy)), in double as torch's path
// (histogram.mi_from_counts) computes it, so the [blk, n_out, in_bins, out_bins]
// int64 tables and their float64 copies are never written.
//
// y arrives as the keys of count_pairs: y[j, s] + j * in_bins * out_bins
// (histogram.output_keys), int32 or int64, shared by all inputs ([1, n_out, S])
// or one experiment per input ([n_in, n_out, S]).
#include <torch/extension.h>
#include <ATen/Parallel.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <vector>

namespace {

// Two tables filled by alternate samples: consecutive samples falling into the
// same cell would otherwise wait on each other's store (store-to-load
// forwarding); both 64 x 64 int32 tables together still fit a 32 KB L1.
template <typename key_t, typename cnt_t>
bool count_pair(const int32_t* xr, const key_t* yr, int64_t S, int64_t base, int64_t ob, int64_t cells, cnt_t* t0,
                cnt_t* t1) {
  std::fill(t0, t0 + cells, cnt_t(0));
  std::fill(t1, t1 + cells, cnt_t(0));
  const uint64_t uob = static_cast<uint64_t>(ob);
  bool bad = false;
  int64_t s = 0;
  for (; s + 1 < S; s += 2) {
    const uint64_t y0 = static_cast<uint64_t>(static_cast<int64_t>(yr[s]) - base);
    const uint64_t y1 = static_cast<uint64_t>(static_cast<int64_t>(yr[s + 1]) - base);
    if (y0 >= uob || y1 >= uob) {
      bad = true;
      break;
    }
    ++t0[xr[s] * ob + y0];
    ++t1[xr[s + 1] * ob + y1];
  }
  if (!bad && s < S) {
    const uint64_t y0 = static_cast<uint64_t>(static_cast<int64_t>(yr[s]) - base);
    if (y0 >= uob)
      bad = true;
    else
      ++t0[xr[s] * ob + y0];
  }
  return !bad;
}

// Only samples with valid[s] are counted (or range-checked), as in torch's path.
template <typename key_t, typename cnt_t>
bool count_pair_masked(const int32_t* xr, const key_t* yr, const bool* vr, int64_t S, int64_t base, int64_t ob,
                       int64_t cells, cnt_t* t0) {
  std::fill(t0, t0 + cells, cnt_t(0));
  const uint64_t uob = static_cast<uint64_t>(ob);
  for (int64_t s = 0; s < S; ++s) {
    if (!vr[s]) continue;
    const uint64_t y0 = static_cast<uint64_t>(static_cast<int64_t>(yr[s]) - base);
    if (y0 >= uob) return false;
    ++t0[xr[s] * ob + y0];
  }
  return true;
}

// G outputs against one input row at a time: x[s] is loaded once for G increments into G
// independent tables (no store waits on the previous one), kept as uint16 in L1 (G x 8 KB for
// 64 x 64 bins) and added into the cnt_t tables every 65,535 samples, before a cell could wrap.
// The rows were range-checked once beforehand (each_pair_table), so the loop has no branch.
template <int G, typename key_t, typename cnt_t>
void count_group(const int32_t* xr, const key_t* const* yr, const int64_t* base, int64_t S, int64_t ob,
                 int64_t cells, uint16_t* stage, cnt_t* tables) {
  std::fill(tables, tables + G * cells, cnt_t(0));
  constexpr int64_t chunk = 65535;
  for (int64_t s0 = 0; s0 < S; s0 += chunk) {
    const int64_t s1 = std::min(S, s0 + chunk);
    std::fill(stage, stage + G * cells, uint16_t(0));
    for (int64_t s = s0; s < s1; ++s) {
      const int64_t row = static_cast<int64_t>(xr[s]) * ob;
      for (int k = 0; k < G; ++k) ++stage[k * cells + row + (static_cast<int64_t>(yr[k][s]) - base[k])];
    }
    for (int64_t c = 0; c < G * cells; ++c) tables[c] += stage[c];
  }
}

template <typename key_t, typename cnt_t>
void count_group_any(int g, const int32_t* xr, const key_t* const* yr, const int64_t* base, int64_t S, int64_t ob,
                     int64_t cells, uint16_t* stage, cnt_t* tables) {
  switch (g) {
    case 4: return count_group<4, key_t, cnt_t>(xr, yr, base, S, ob, cells, stage, tables);
    case 3: return count_group<3, key_t, cnt_t>(xr, yr, base, S, ob, cells, stage, tables);
    case 2: return count_group<2, key_t, cnt_t>(xr, yr, base, S, ob, cells, stage, tables);
    default: return count_group<1, key_t, cnt_t>(xr, yr, base, S, ob, cells, stage, tables);
  }
}

// Every pair's table ([ib, ob]) handed to sink(p, table) while it is still in cache.
template <typename key_t, typename cnt_t, typename Sink>
bool each_pair_table(const int32_t* x, const key_t* y, const bool* valid, int64_t blk, int64_t n_out, int64_t S,
                     bool y_shared, int64_t ib, int64_t ob, const Sink& sink) {
  const int64_t cells = ib * ob;
  std::atomic<bool> ok{true};
  // x rows are checked once here so that the pair loop only checks y.
  at::parallel_for(0, blk, std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(S, 1)),
                   [&](int64_t begin, int64_t end) {
                     for (int64_t i = begin; i < end; ++i) {
                       const int32_t* xr = x + i * S;
                       bool row_ok = true;
                       for (int64_t s = 0; s < S; ++s) row_ok &= static_cast<uint32_t>(xr[s]) < static_cast<uint64_t>(ib);
                       if (!row_ok) ok = false;
                     }
                   });
  if (!ok) return false;
  // A task of about 1M increments (a millisecond) is worth a thread.
  const int64_t grain = std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(S, 1));
  // Unmasked pairs with tables small enough go in groups of up to four outputs per input (count_group).
  const int group = valid == nullptr && cells * 2 * 4 <= (int64_t(32) << 10) ? 4 : 1;
  if (group > 1) {
    // every y row once: its keys within its pair's block [j cells, j cells + ob)
    const int64_t y_rows = (y_shared ? 1 : blk) * n_out;
    at::parallel_for(0, y_rows, std::max<int64_t>(1, (int64_t(1) << 20) / std::max<int64_t>(S, 1)),
                     [&](int64_t begin, int64_t end) {
                       for (int64_t r = begin; r < end; ++r) {
                         const key_t* yr = y + r * S;
                         const int64_t base = (r % n_out) * cells;
                         bool row_ok = true;
                         for (int64_t s = 0; s < S; ++s)
                           row_ok &= static_cast<uint64_t>(static_cast<int64_t>(yr[s]) - base) < static_cast<uint64_t>(ob);
                         if (!row_ok) ok = false;
                       }
                     });
    if (!ok) return false;
    const int64_t groups = (n_out + group - 1) / group;
    at::parallel_for(0, blk * groups, std::max<int64_t>(1, grain / group), [&](int64_t begin, int64_t end) {
      std::vector<uint16_t> stage(group * cells);
      std::vector<cnt_t> tables(group * cells);
      for (int64_t q = begin; q < end; ++q) {
        const int64_t i = q / groups, j0 = (q % groups) * group;
        const int g = static_cast<int>(std::min<int64_t>(group, n_out - j0));
        const key_t* yr[4];
        int64_t base[4];
        for (int k = 0; k < g; ++k) {
          yr[k] = y + ((y_shared ? 0 : i) * n_out + j0 + k) * S;
          base[k] = (j0 + k) * cells;
        }
        count_group_any<key_t, cnt_t>(g, x + i * S, yr, base, S, ob, cells, stage.data(), tables.data());
        for (int k = 0; k < g; ++k) sink(i * n_out + j0 + k, tables.data() + k * cells);
      }
    });
    return ok;
  }
  at::parallel_for(0, blk * n_out, grain, [&](int64_t begin, int64_t end) {
    std::vector<cnt_t> tables(2 * cells);
    for (int64_t p = begin; p < end && ok; ++p) {
      const int64_t i = p / n_out, j = p % n_out;
      const int32_t* xr = x + i * S;
      const key_t* yr = y + ((y_shared ? 0 : i) * n_out + j) * S;
      const bool* vr = valid ? valid + i * S : nullptr;
      bool good;
      if (vr) {
        std::fill(tables.begin() + cells, tables.end(), cnt_t(0));
        good = count_pair_masked<key_t, cnt_t>(xr, yr, vr, S, j * cells, ob, cells, tables.data());
      } else {
        good = count_pair<key_t, cnt_t>(xr, yr, S, j * cells, ob, cells, tables.data(), tables.data() + cells);
      }
      if (!good) {
        ok = false;
        break;
      }
      for (int64_t c = 0; c < cells; ++c) tables[c] += tables[cells + c];
      sink(p, tables.data());
    }
  });
  return ok;
}

template <typename key_t, typename cnt_t>
bool count_all(const int32_t* x, const key_t* y, const bool* valid, int64_t blk, int64_t n_out, int64_t S,
               bool y_shared, int64_t ib, int64_t ob, int64_t* out) {
  const int64_t cells = ib * ob;
  return each_pair_table<key_t, cnt_t>(x, y, valid, blk, n_out, S, y_shared, ib, ob,
                                       [&](int64_t p, const cnt_t* table) {
                                         int64_t* o = out + p * cells;
                                         for (int64_t c = 0; c < cells; ++c) o[c] = static_cast<int64_t>(table[c]);
                                       });
}

// Plug-in MI in bits of the table ([ib, ob]), with the Miller-Madow term when asked; an empty
// table gives 0, and a negative estimate is clamped to 0, as in mi_from_counts.
template <typename cnt_t>
double table_information(const cnt_t* t, int64_t ib, int64_t ob, bool miller_madow, std::vector<double>& cx,
                         std::vector<double>& cy) {
  std::fill(cy.begin(), cy.end(), 0.0);
  for (int64_t a = 0; a < ib; ++a) {
    const cnt_t* r = t + a * ob;
    int64_t row = 0;
    for (int64_t b = 0; b < ob; ++b) {
      row += r[b];
      cy[b] += static_cast<double>(r[b]);
    }
    cx[a] = static_cast<double>(row);
  }
  double n = 0.0;
  for (int64_t a = 0; a < ib; ++a) n += cx[a];
  if (n == 0.0) return 0.0;
  double sum = 0.0;
  int64_t occupied = 0;
  for (int64_t a = 0; a < ib; ++a) {
    if (cx[a] == 0.0) continue;
    const cnt_t* r = t + a * ob;
    for (int64_t b = 0; b < ob; ++b) {
      if (r[b] == 0) continue;
      const double c = static_cast<double>(r[b]);
      sum += c * std::log2((c * n) / (cx[a] * cy[b]));
      ++occupied;
    }
  }
  double mi = sum / n;
  if (miller_madow) {
    int64_t kx = 0, ky = 0;
    for (int64_t a = 0; a < ib; ++a) kx += cx[a] > 0.0;
    for (int64_t b = 0; b < ob; ++b) ky += cy[b] > 0.0;
    mi += static_cast<double>(kx + ky - occupied - 1) / (2.0 * n * std::log(2.0));
  }
  return std::max(mi, 0.0);
}

// count_all with each pair's table reduced to its information on the spot: out[p] in bits.
template <typename key_t, typename cnt_t>
bool inform_all(const int32_t* x, const key_t* y, const bool* valid, int64_t blk, int64_t n_out, int64_t S,
                bool y_shared, int64_t ib, int64_t ob, bool miller_madow, double* out) {
  return each_pair_table<key_t, cnt_t>(x, y, valid, blk, n_out, S, y_shared, ib, ob,
                                       [&](int64_t p, const cnt_t* table) {
                                         std::vector<double> cx(ib), cy(ob);
                                         out[p] = table_information<cnt_t>(table, ib, ob, miller_madow, cx, cy);
                                       });
}

}  // namespace

// The arguments' shapes and types, checked once for both entry points; the valid mask's data or null.
const bool* check_inputs(const torch::Tensor& x_bins, const torch::Tensor& y_keys,
                         const c10::optional<torch::Tensor>& valid, int64_t in_bins, int64_t out_bins) {
  TORCH_CHECK(x_bins.device().is_cpu() && y_keys.device().is_cpu(), "pair_counts: CPU tensors expected");
  TORCH_CHECK(x_bins.dim() == 2 && x_bins.scalar_type() == torch::kInt32 && x_bins.is_contiguous(),
              "pair_counts: contiguous int32 x_bins [blk, S] expected");
  TORCH_CHECK(y_keys.dim() == 3 && y_keys.is_contiguous() &&
                  (y_keys.scalar_type() == torch::kInt32 || y_keys.scalar_type() == torch::kInt64),
              "pair_counts: contiguous int32/int64 y_keys [1 or blk, n_out, S] expected");
  TORCH_CHECK(in_bins >= 1 && out_bins >= 1, "pair_counts: in_bins and out_bins must be >= 1");
  const int64_t blk = x_bins.size(0), S = x_bins.size(1);
  TORCH_CHECK(y_keys.size(2) == S && (y_keys.size(0) == 1 || y_keys.size(0) == blk),
              "pair_counts: y_keys must be [1 or ", blk, ", n_out, ", S, "], got ", y_keys.sizes());
  if (!valid.has_value() || !valid->defined()) return nullptr;
  const torch::Tensor& v = *valid;
  TORCH_CHECK(v.device().is_cpu() && v.scalar_type() == torch::kBool && v.is_contiguous() && v.dim() == 2 &&
                  v.size(0) == blk && v.size(1) == S,
              "pair_counts: contiguous bool valid [blk, S] expected");
  return v.data_ptr<bool>();
}

torch::Tensor pair_counts(torch::Tensor x_bins, torch::Tensor y_keys, c10::optional<torch::Tensor> valid,
                          int64_t in_bins, int64_t out_bins) {
  const bool* vp = check_inputs(x_bins, y_keys, valid, in_bins, out_bins);
  const int64_t blk = x_bins.size(0), S = x_bins.size(1), n_out = y_keys.size(1);
  auto out = torch::zeros({blk, n_out, in_bins, out_bins}, x_bins.options().dtype(torch::kInt64));
  if (blk == 0 || n_out == 0 || S == 0) return out;
  const bool y_shared = y_keys.size(0) == 1 && blk > 1;
  bool ok = true;
  {
    pybind11::gil_scoped_release no_gil;
    AT_DISPATCH_INDEX_TYPES(y_keys.scalar_type(), "pair_counts", [&] {
      // int32 tables while no cell can reach 2**31 (two tables split the samples)
      if (S < (int64_t(1) << 31))
        ok = count_all<index_t, int32_t>(x_bins.data_ptr<int32_t>(), y_keys.data_ptr<index_t>(), vp, blk, n_out, S,
                                         y_shared, in_bins, out_bins, out.data_ptr<int64_t>());
      else
        ok = count_all<index_t, int64_t>(x_bins.data_ptr<int32_t>(), y_keys.data_ptr<index_t>(), vp, blk, n_out, S,
                                         y_shared, in_bins, out_bins, out.data_ptr<int64_t>());
    });
  }
  TORCH_CHECK(ok, "pair_counts: a bin index lies outside [0, in_bins) x [0, out_bins) of its pair");
  return out;
}

// The plug-in MI of every pair's joint histogram (pair_counts then mi_from_counts, fused): [blk, n_out] float64.
torch::Tensor pair_information(torch::Tensor x_bins, torch::Tensor y_keys, c10::optional<torch::Tensor> valid,
                               int64_t in_bins, int64_t out_bins, bool miller_madow) {
  const bool* vp = check_inputs(x_bins, y_keys, valid, in_bins, out_bins);
  const int64_t blk = x_bins.size(0), S = x_bins.size(1), n_out = y_keys.size(1);
  auto out = torch::zeros({blk, n_out}, x_bins.options().dtype(torch::kFloat64));
  if (blk == 0 || n_out == 0 || S == 0) return out;
  const bool y_shared = y_keys.size(0) == 1 && blk > 1;
  bool ok = true;
  {
    pybind11::gil_scoped_release no_gil;
    AT_DISPATCH_INDEX_TYPES(y_keys.scalar_type(), "pair_information", [&] {
      if (S < (int64_t(1) << 31))
        ok = inform_all<index_t, int32_t>(x_bins.data_ptr<int32_t>(), y_keys.data_ptr<index_t>(), vp, blk, n_out, S,
                                          y_shared, in_bins, out_bins, miller_madow, out.data_ptr<double>());
      else
        ok = inform_all<index_t, int64_t>(x_bins.data_ptr<int32_t>(), y_keys.data_ptr<index_t>(), vp, blk, n_out, S,
                                          y_shared, in_bins, out_bins, miller_madow, out.data_ptr<double>());
    });
  }
  TORCH_CHECK(ok, "pair_information: a bin index lies outside [0, in_bins) x [0, out_bins) of its pair");
  return out;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("pair_counts", &pair_counts, "joint histograms of every (input, output) pair", pybind11::arg("x_bins"),
        pybind11::arg("y_keys"), pybind11::arg("valid"), pybind11::arg("in_bins"), pybind11::arg("out_bins"));
  m.def("pair_information", &pair_information, "plug-in mutual information of every (input, output) pair, in bits",
        pybind11::arg("x_bins"), pybind11::arg("y_keys"), pybind11::arg("valid"), pybind11::arg("in_bins"),
        pybind11::arg("out_bins"), pybind11::arg("miller_madow"));
}
