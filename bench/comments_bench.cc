// Micro-benchmark of the comment store (src/commentary): 100k comments, most with adjustments,
// on random coordinates of a model shaped like the benchmark data set, built here in code
// (dimensions of 10,000 / 200 / 24 / 3 / 100 leaves, 2 to 5 levels, some -1 edges). Prints one
// JSON object per line: {"bench":"comments","case":...,"median_ms":...,"min_ms":...,"max_ms":...}.
//
//   comments_bench [COMMENTS=100000] [REPS=15]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "base/strings.h"
#include "bench_util.h"
#include "commentary/comment_store.h"

using namespace quantatom;
using namespace quantatom::bench;

namespace {

// A dimension of `leaves` leaves grouped by `fanouts` from the bottom up (e.g. {10, 10} puts
// leaves under groups of 10, those under groups of 10, and those under one root). Every
// `negative_every`-th group enters its parent with weight -1 (0: never).
Dimension MakeDimension(const std::string& name, int leaves, std::vector<int> fanouts, int negative_every) {
  DimensionBuilder b(name, DimensionType::kGeneric);
  std::vector<std::string> level;
  for (int i = 0; i < leaves; ++i) {
    level.push_back(StrCat(name, "_L", i));
    (void)b.AddMember(level.back());
  }
  fanouts.push_back(1 << 30);  // the last level goes under a single root
  for (size_t depth = 0; depth < fanouts.size(); ++depth) {
    const size_t fanout = static_cast<size_t>(fanouts[depth]);
    std::vector<std::string> parents;
    for (size_t i = 0; i < level.size(); ++i) {
      if (i % fanout == 0) {
        parents.push_back(depth + 1 == fanouts.size() ? StrCat(name, "_Total") : StrCat(name, "_G", depth + 1, "_", i / fanout));
        (void)b.AddMember(parents.back());
      }
      double weight = depth > 0 && negative_every > 0 && i % static_cast<size_t>(negative_every) == static_cast<size_t>(negative_every) - 1 ? -1.0 : 1.0;
      (void)b.AddEdge(level[i], parents.back(), weight);
    }
    level = std::move(parents);
  }
  return Check(std::move(b).Build());
}

// CPU time of this thread: on a shared machine, wall time also counts the waits for a core.
double ThreadCpuMs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

struct Times {
  std::vector<double> wall, cpu;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Report(const std::string& name, const Times& t, const std::string& extra = "") {
  std::printf("{\"bench\":\"comments\",\"case\":\"%s\",\"median_ms\":%.4f,\"min_ms\":%.4f,\"max_ms\":%.4f,"
              "\"median_cpu_ms\":%.4f%s}\n",
              name.c_str(), Median(t.wall), *std::min_element(t.wall.begin(), t.wall.end()),
              *std::max_element(t.wall.begin(), t.wall.end()), Median(t.cpu), extra.c_str());
  std::fflush(stdout);
}

Times Time(int reps, const std::function<void()>& body) {
  Times t;
  for (int r = 0; r < reps; ++r) {
    double start = NowMs(), cpu_start = ThreadCpuMs();
    body();
    t.wall.push_back(NowMs() - start);
    t.cpu.push_back(ThreadCpuMs() - cpu_start);
  }
  return t;
}

// Members of `dim` at `level`, in member order.
std::vector<MemberId> AtLevel(const Dimension& dim, int level) {
  std::vector<MemberId> out;
  for (MemberId m = 0; m < dim.member_count(); ++m)
    if (dim.level(m) == level) out.push_back(m);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int comments = argc > 1 ? std::atoi(argv[1]) : 100000;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 15;
  long rss_empty = RssKb();

  AppModel model;
  model.name = "bench";
  model.dimensions.push_back(MakeDimension("Account", 10000, {10, 10, 10}, 7));  // 5 levels
  model.dimensions.push_back(MakeDimension("CostCenter", 200, {10, 4}, 0));      // 4 levels
  model.dimensions.push_back(MakeDimension("Period", 24, {3, 4}, 0));  // months, quarters, years, total
  model.dimensions.push_back(MakeDimension("Scenario", 3, {}, 0));
  model.dimensions.push_back(MakeDimension("Product", 100, {10}, 3));
  const size_t dims = model.dimensions.size();
  long rss_model = RssKb();

  CommentStore store(model);
  std::mt19937_64 rng(42);
  // Four comments in five on a leaf coordinate, the rest top-side at random levels; 70% carry
  // an adjustment.
  std::vector<Coordinate> where;
  for (int i = 0; i < comments; ++i) {
    Coordinate at(dims);
    bool top_side = rng() % 5 == 0;
    for (size_t d = 0; d < dims; ++d) {
      const Dimension& dim = model.dimensions[d];
      at[d] = top_side && rng() % 2 ? static_cast<MemberId>(rng() % dim.member_count())
                                    : dim.leaf_member(static_cast<uint32_t>(rng() % dim.leaf_count()));
    }
    where.push_back(std::move(at));
  }
  double start = NowMs();
  for (int i = 0; i < comments; ++i) {
    std::optional<double> value;
    if (rng() % 10 < 7) value = static_cast<double>(static_cast<int>(rng() % 2001) - 1000);
    Check(store.Post(where[i], {"user" + std::to_string(i % 50), 1700000000000 + i, "adjusted for a one-off item", value}));
  }
  double insert_ms = NowMs() - start;
  long rss_loaded = RssKb();
  std::printf("{\"bench\":\"comments\",\"case\":\"insert\",\"comments\":%d,\"adjustments\":%zu,\"total_ms\":%.1f,"
              "\"us_per_comment\":%.2f,\"rss_kb_model\":%ld,\"rss_kb_comments\":%ld}\n",
              comments, store.active_adjustments(), insert_ms, 1000 * insert_ms / comments, rss_model - rss_empty,
              rss_loaded - rss_model);

  const Dimension& account = model.dimensions[0];
  const Dimension& product = model.dimensions[4];
  auto root = [&](size_t d) { return model.dimensions[d].roots()[0]; };
  Coordinate grand_total(dims);
  for (size_t d = 0; d < dims; ++d) grand_total[d] = root(d);

  // Grids of consolidated cells: Account groups of 10 leaves (level 1) down the rows, Product
  // groups (level 1) across, every other dimension at its total.
  auto totals_grid = [&](size_t rows) {
    std::vector<Coordinate> cells;
    std::vector<MemberId> row_members = AtLevel(account, 1), col_members = AtLevel(product, 1);
    row_members.resize(rows);
    for (MemberId r : row_members)
      for (MemberId c : col_members) {
        Coordinate cell = grand_total;
        cell[0] = r;
        cell[4] = c;
        cells.push_back(cell);
      }
    return cells;
  };
  // A grid of leaves: Account leaves down, the 24 months across, one leaf in the others.
  auto leaf_grid = [&](size_t rows) {
    std::vector<Coordinate> cells;
    for (size_t r = 0; r < rows; ++r)
      for (uint32_t month = 0; month < 24; ++month) {
        Coordinate cell(dims);
        cell[0] = account.leaf_member(static_cast<uint32_t>(r * 7));
        cell[1] = model.dimensions[1].leaf_member(3);
        cell[2] = model.dimensions[2].leaf_member(month);
        cell[3] = model.dimensions[3].leaf_member(0);
        cell[4] = product.leaf_member(5);
        cells.push_back(cell);
      }
    return cells;
  };

  struct Case {
    std::string name;
    std::vector<Coordinate> cells;
  };
  std::vector<Case> cases = {
      {"markers_500_totals", totals_grid(50)},           // 50 x 10
      {"markers_10000_totals", totals_grid(1000)},       // 1000 x 10
      {"markers_504_leaves", leaf_grid(21)},             // 21 x 24
      {"markers_10008_leaves", leaf_grid(417)},          // 417 x 24
      {"markers_1_grand_total", {grand_total}},
      // The coordinates of the first 10,000 comments: scattered, every cell commented.
      {"markers_10000_commented", std::vector<Coordinate>(where.begin(), where.begin() + std::min(comments, 10000))},
  };
  for (const Case& c : cases) {
    std::vector<CellMarker> markers;
    Times times = Time(reps, [&] { markers = Check(store.Markers(c.cells)); });
    size_t commented = 0, adjusted = 0;
    double checksum = 0;
    for (const CellMarker& m : markers) {
      commented += m.has_comment;
      adjusted += m.adjusted;
      checksum += m.adjustment;
    }
    Report(c.name, times,
           StrCat(",\"cells\":", c.cells.size(), ",\"with_comment\":", commented, ",\"adjusted\":", adjusted,
                  ",\"adjustment_sum\":", checksum));
  }

  CellValue adjusted;
  Times adjusted_times =
      Time(reps, [&] { adjusted = Check(store.Adjusted(grand_total, CellValue::Number(0))); });
  Report("adjusted_grand_total", adjusted_times, StrCat(",\"value\":", adjusted.number));

  CommentPage page;
  Report("list_under_grand_total_page_50", Time(reps, [&] { page = Check(store.ListUnder(grand_total, 50)); }));
  Coordinate division = grand_total;
  division[0] = AtLevel(account, 3)[0];  // 1,000 accounts
  Report("list_under_division_page_50", Time(reps, [&] { page = Check(store.ListUnder(division, 50)); }));

  int late = 0;
  Report("post_one_more", Time(reps, [&] { Check(store.Post(where[late++], {"late", 1800000000000, "one more", 1.0})); }));

  std::string bytes;
  Times encode_times = Time(3, [&] { bytes = store.Encode(); });
  Report("encode", encode_times, StrCat(",\"bytes\":", bytes.size()));
  Report("decode", Time(3, [&] { Check(CommentStore::Decode(model, bytes)); }));
  return 0;
}
