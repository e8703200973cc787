#include "formula/jit.h"

#include <bit>
#include <random>

#include <gtest/gtest.h>

#include "formula/parser.h"
#include "formula/testutil.h"

namespace quantatom::formula {
namespace {

std::string RandomExpr(std::mt19937_64& rng, int depth) {
  const char* leaves[] = {"Sales", "COGS", "Rent", "0", "1", "2.5", "-3"};
  if (depth == 0 || rng() % 4 == 0) return leaves[rng() % 7];
  auto sub = [&] { return RandomExpr(rng, depth - 1); };
  switch (rng() % 14) {
    case 0: return "(" + sub() + " + " + sub() + ")";
    case 1: return "(" + sub() + " - " + sub() + ")";
    case 2: return "(" + sub() + " * " + sub() + ")";
    case 3: return "(" + sub() + " / " + sub() + ")";
    case 4: return "(" + sub() + " <= " + sub() + ")";
    case 5: return "(" + sub() + " <> " + sub() + ")";
    case 6: return "(" + sub() + " and " + sub() + " or not " + sub() + ")";
    case 7: return "if(" + sub() + ", " + sub() + ", " + sub() + ")";
    case 8: return "max(" + sub() + ", " + sub() + ")";
    case 9: return "iferror(" + sub() + ", " + sub() + ")";
    case 10: return "round(" + sub() + ", 2)";
    case 11: return "(" + sub() + " > " + sub() + ")";
    case 12: return "min(" + sub() + ", " + sub() + ")";
    default: return "-abs(" + sub() + ")";
  }
}

TEST(FormulaJit, AgreesWithVmAndInterpreterBitForBit) {
  if (!JitModule::Available()) GTEST_SKIP() << "built without the JIT";
  std::mt19937_64 rng(11);
  const AppModel model = testing::PnlModel();
  std::vector<BoundFormula> formulas;
  for (int i = 0; i < 80; ++i) {
    auto tree = Parse("(" + RandomExpr(rng, 5) + ") + 0 * Sales");
    ASSERT_TRUE(tree.ok());
    auto f = Bind(model, 0, *model.dimensions[0].Find("GM"), Scope::kLeaf, **tree);
    ASSERT_TRUE(f.ok()) << f.status();
    formulas.push_back(*std::move(f));
  }
  std::vector<Program> programs;
  for (auto& f : formulas) programs.push_back(Program::Compile(f.expr, static_cast<int>(f.inputs.size())));
  std::vector<const Program*> ptrs;
  for (auto& p : programs) ptrs.push_back(&p);
  auto jit = JitModule::Compile(ptrs);  // all of them in one module
  ASSERT_TRUE(jit.ok()) << jit.status();
  std::printf("JIT: %zu formulas in one module in %.1f ms (%.3f ms per formula)\n", ptrs.size(), (*jit)->compile_ms(),
              (*jit)->compile_ms() / ptrs.size());
  const double values[] = {0, 1, -1, 2.5, 1e300, -7, 0.125, ErrorValue(CellError::kRef), ErrorValue(CellError::kDivZero)};
  const size_t n = 1031;  // not a multiple of any vector width
  for (size_t i = 0; i < formulas.size(); ++i) {
    std::vector<std::vector<double>> cols(formulas[i].inputs.size(), std::vector<double>(n));
    for (auto& c : cols)
      for (double& v : c) v = values[rng() % 9];
    std::vector<const double*> in;
    for (auto& c : cols) in.push_back(c.data());
    std::vector<double> vm(n), jitted(n);
    formula::Run(programs[i], in, n, vm.data());
    (*jit)->function(i)(in.data(), n, jitted.data());
    for (size_t k = 0; k < n; ++k) {
      std::vector<double> row;
      for (auto& c : cols) row.push_back(c[k]);
      ASSERT_EQ(std::bit_cast<uint64_t>(jitted[k]), std::bit_cast<uint64_t>(vm[k])) << formulas[i].text << " row " << k;
      ASSERT_EQ(std::bit_cast<uint64_t>(jitted[k]), std::bit_cast<uint64_t>(Interpret(formulas[i].expr, row)));
    }
  }
}

TEST(FormulaJit, UnavailableBuildSaysSo) {
  if (JitModule::Available()) GTEST_SKIP() << "built with the JIT";
  EXPECT_EQ(JitModule::Compile({}).status().code(), absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace quantatom::formula
