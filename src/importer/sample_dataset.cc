#include "importer/sample_dataset.h"

#include <filesystem>
#include <vector>

#include "base/file_util.h"
#include "base/strings.h"

namespace quantatom {

namespace {

// One dimension being written: elements and edges with ids assigned in order.
struct DimWriter {
  std::string elements, hier;
  std::vector<std::string> codes;
  std::vector<int> leaves;
  int Add(const std::string& code) {
    int id = static_cast<int>(codes.size());
    codes.push_back(code);
    StrAppend(&elements, id, ",", code, ",0\n");  // level is derived on import
    return id;
  }
  void Edge(int child, int parent, double w = 1) { StrAppend(&hier, child, ",", parent, ",", w, "\n"); }
};

uint64_t SplitMix(uint64_t& s) {
  uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

}  // namespace

absl::Status WriteSampleDataset(const std::string& dir, uint64_t cells, uint64_t seed) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(StrCat("cannot create ", dir, ": ", ec.message()));

  DimWriter acc;
  int net = acc.Add("NetIncome");
  int rev = acc.Add("Revenue"), cogs = acc.Add("COGS"), opex = acc.Add("Opex");
  int people = acc.Add("PeopleCost");  // alternate rollup, its own top
  acc.Edge(rev, net, 1);
  acc.Edge(cogs, net, -1);
  acc.Edge(opex, net, -1);
  const char* groups[] = {"Salaries", "Travel", "Rent", "IT", "Marketing"};
  std::vector<int> opex_groups;
  for (const char* g : groups) {
    int id = acc.Add(g);
    acc.Edge(id, opex);
    opex_groups.push_back(id);
  }
  for (int i = 0; i < 240; ++i) {
    int leaf = acc.Add(fmt::format("GL{:05d}", 40000 + i * 10));
    acc.leaves.push_back(leaf);
    if (i < 60) acc.Edge(leaf, rev);
    else if (i < 100) acc.Edge(leaf, cogs);
    else {
      int g = opex_groups[static_cast<size_t>(i - 100) % opex_groups.size()];
      acc.Edge(leaf, g);
      if (g == opex_groups[0]) acc.Edge(leaf, people);  // salaries also roll up to PeopleCost
    }
  }

  DimWriter cc;
  int group = cc.Add("Group");
  const char* regions[] = {"EMEA", "AMER", "APAC"};
  for (const char* r : regions) {
    int rid = cc.Add(r);
    cc.Edge(rid, group);
    for (int d = 0; d < 4; ++d) {
      int did = cc.Add(StrCat(r, "-D", d + 1));
      cc.Edge(did, rid);
      for (int t = 0; t < 3; ++t) {
        int tid = cc.Add(StrCat(r, "-D", d + 1, "-T", t + 1));
        cc.Edge(tid, did);
        cc.leaves.push_back(tid);
      }
    }
  }

  DimWriter month;
  for (int y = 1; y <= 2; ++y) {
    int yid = month.Add(StrCat("FY", y));
    for (int q = 1; q <= 4; ++q) {
      int qid = month.Add(StrCat("FY", y, "-Q", q));
      month.Edge(qid, yid);
      for (int m = 1; m <= 3; ++m) {
        int mid = month.Add(fmt::format("FY{}-M{:02d}", y, (q - 1) * 3 + m));
        month.Edge(mid, qid);
        month.leaves.push_back(mid);
      }
    }
  }

  DimWriter scen;
  int bva = scen.Add("BudgetVsActual");
  int actual = scen.Add("Actual"), budget = scen.Add("Budget"), forecast = scen.Add("Forecast");
  scen.Edge(budget, bva, 1);
  scen.Edge(actual, bva, -1);
  scen.leaves = {actual, budget, forecast};

  DimWriter prod;
  int all = prod.Add("AllProducts");
  for (int l = 0; l < 3; ++l) {
    int lid = prod.Add(StrCat("Line", static_cast<char>('A' + l)));
    prod.Edge(lid, all);
    for (int p = 0; p < 10; ++p) {
      int pid = prod.Add(StrCat("SKU-", static_cast<char>('A' + l), p));
      prod.Edge(pid, lid);
      prod.leaves.push_back(pid);
    }
  }

  // Cells: series (account, cost center, product), each with months per scenario.
  uint64_t s = seed;
  std::string out;
  out.reserve(cells * 24);
  uint64_t written = 0;
  std::vector<bool> used(acc.leaves.size() * cc.leaves.size() * prod.leaves.size(), false);
  uint64_t attempts = 0;
  while (written < cells && attempts < cells * 4) {
    ++attempts;
    size_t a = SplitMix(s) % acc.leaves.size(), c = SplitMix(s) % cc.leaves.size(), p = SplitMix(s) % prod.leaves.size();
    size_t series = (a * cc.leaves.size() + c) * prod.leaves.size() + p;
    if (used[series]) continue;
    used[series] = true;
    int64_t base = static_cast<int64_t>(100 + SplitMix(s) % 9900);
    if (a < 60) base *= 5;  // revenue lines are larger than single cost lines: a profitable company
    for (int sc = 0; sc < 3 && written < cells; ++sc) {
      int first = sc == 2 ? 12 : 0, last = sc == 0 ? 18 : 24;  // actuals to month 18, forecast from 13
      for (int m = first; m < last && written < cells; ++m) {
        int64_t v = base * (90 + static_cast<int64_t>(SplitMix(s) % 21)) / 100;
        StrAppend(&out, acc.leaves[a], ",", cc.leaves[c], ",", month.leaves[m], ",", scen.leaves[sc], ",",
                        prod.leaves[p], ",", v, "\n");
        ++written;
      }
    }
  }

  auto write = [&](const std::string& name, const std::string& text) {
    return WriteFileAtomically(StrCat(dir, "/", name), text);
  };
  QA_RETURN_IF_ERROR(write("elements_account.csv", acc.elements));
  QA_RETURN_IF_ERROR(write("hier_account.csv", acc.hier));
  QA_RETURN_IF_ERROR(write("elements_costcenter.csv", cc.elements));
  QA_RETURN_IF_ERROR(write("hier_costcenter.csv", cc.hier));
  QA_RETURN_IF_ERROR(write("elements_month.csv", month.elements));
  QA_RETURN_IF_ERROR(write("hier_month.csv", month.hier));
  QA_RETURN_IF_ERROR(write("elements_scenario.csv", scen.elements));
  QA_RETURN_IF_ERROR(write("hier_scenario.csv", scen.hier));
  QA_RETURN_IF_ERROR(write("elements_product.csv", prod.elements));
  QA_RETURN_IF_ERROR(write("hier_product.csv", prod.hier));
  QA_RETURN_IF_ERROR(write("cells.csv", out));
  return write("manifest.json",
               StrCat("{\n  \"generator\": \"quantatom sample\",\n  \"seed\": ", seed, ",\n  \"n_cells\": ", written,
                            ",\n  \"dims\": {\"account\": {}, \"costcenter\": {}, \"month\": {}, \"scenario\": {}, "
                            "\"product\": {}}\n}\n"));
}

}  // namespace quantatom
