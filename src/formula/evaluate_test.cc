#include "formula/evaluate.h"

#include <bit>
#include <cctype>
#include <cmath>
#include <random>

#include <gtest/gtest.h>

#include "formula/parser.h"
#include "formula/testutil.h"

namespace quantatom::formula {
namespace {

// x, y, z -> Sales, COGS, Rent (whole words only).
std::string Rename(std::string_view text) {
  std::string out;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t i = 0; i < text.size(); ++i) {
    const bool alone = (i == 0 || !word(text[i - 1])) && (i + 1 == text.size() || !word(text[i + 1]));
    if (alone && text[i] == 'x') out += "Sales";
    else if (alone && text[i] == 'y') out += "COGS";
    else if (alone && text[i] == 'z') out += "Rent";
    else out += text[i];
  }
  return out;
}

// Binds `text` on Account=GM of the test app with inputs named x, y, z (Sales, COGS, Rent);
// evaluates it with x, y, z taking the given values, by the interpreter and by the VM, and
// checks they agree bit for bit.
double Eval(std::string_view text, double x = 0, double y = 0, double z = 0) {
  static const AppModel model = testing::PnlModel();
  std::string t = Rename(text);
  auto tree = Parse(t);
  EXPECT_TRUE(tree.ok()) << tree.status();
  auto f = Bind(model, 0, *model.dimensions[0].Find("GM"), Scope::kLeaf, **tree);
  EXPECT_TRUE(f.ok()) << f.status();
  std::vector<double> in;
  for (const Input& i : f->inputs) in.push_back(i.text == "Sales" ? x : i.text == "COGS" ? y : z);
  double a = Interpret(f->expr, in);
  Program p = Program::Compile(f->expr, static_cast<int>(in.size()));
  std::vector<const double*> cols;
  for (double& v : in) cols.push_back(&v);
  double b;
  formula::Run(p, cols, 1, &b);
  EXPECT_EQ(std::bit_cast<uint64_t>(a), std::bit_cast<uint64_t>(b)) << text;
  return a;
}

CellError Err(double v) { return ErrorOf(v); }

TEST(FormulaEvaluate, ArithmeticAndPrecedence) {
  EXPECT_EQ(Eval("x + y * z", 1, 2, 3), 7);
  EXPECT_EQ(Eval("(x + y) * z", 1, 2, 3), 9);
  EXPECT_EQ(Eval("x - y - z", 10, 2, 3), 5);
  EXPECT_EQ(Eval("x / y / z", 24, 2, 3), 4);
  EXPECT_EQ(Eval("-x * y", 2, 3), -6);
  EXPECT_EQ(Eval("x - -y", 2, 3), 5);
  EXPECT_EQ(Eval("2 * (x + 1) - y / 4", 3, 8), 6);
}

TEST(FormulaEvaluate, ComparisonsAndLogic) {
  EXPECT_EQ(Eval("x = y", 1, 1), 1);
  EXPECT_EQ(Eval("x <> y", 1, 1), 0);
  EXPECT_EQ(Eval("x < y", 1, 2), 1);
  EXPECT_EQ(Eval("x <= y", 2, 2), 1);
  EXPECT_EQ(Eval("x > y", 1, 2), 0);
  EXPECT_EQ(Eval("x >= y", 3, 2), 1);
  EXPECT_EQ(Eval("x and y", 1, 0), 0);
  EXPECT_EQ(Eval("x or y", 0, 5), 1);
  EXPECT_EQ(Eval("not x", 0), 1);
  EXPECT_EQ(Eval("not x", -2), 0);
  EXPECT_EQ(Eval("x > 0 or y > 0 and z > 0", 1, 0, 0), 1);  // and before or
  EXPECT_EQ(Eval("(x > 0 or y > 0) and z > 0", 1, 0, 0), 0);
}

TEST(FormulaEvaluate, Functions) {
  EXPECT_EQ(Eval("if(x > y, x, y)", 3, 5), 5);
  EXPECT_EQ(Eval("if(x, 1, 2)", 0), 2);
  EXPECT_EQ(Eval("min(x, y, z)", 3, -1, 2), -1);
  EXPECT_EQ(Eval("max(x, y, z)", 3, -1, 2), 3);
  EXPECT_EQ(Eval("min(x)", 4), 4);
  EXPECT_EQ(Eval("abs(x)", -2.5), 2.5);
  EXPECT_EQ(Eval("round(x)", 2.5), 3);
  EXPECT_EQ(Eval("round(x)", -2.5), -3);
  EXPECT_EQ(Eval("round(x, 2)", 1.23456), 1.23);
  EXPECT_EQ(Eval("round(x, -2)", 1251), 1300);
  EXPECT_EQ(Eval("iferror(x / y, 7)", 1, 0), 7);
  EXPECT_EQ(Eval("iferror(x / y, 7)", 1, 4), 0.25);
}

TEST(FormulaEvaluate, ErrorsAreValuesNotCrashes) {
  EXPECT_EQ(Err(Eval("x / y", 1, 0)), CellError::kDivZero);
  EXPECT_EQ(Err(Eval("0 / y", 0, 0)), CellError::kDivZero);
  EXPECT_EQ(Err(Eval("x / y + 1", 1, 0)), CellError::kDivZero);   // errors propagate
  EXPECT_EQ(Err(Eval("x / y > 1", 1, 0)), CellError::kDivZero);
  EXPECT_EQ(Err(Eval("if(x / y, 1, 2)", 1, 0)), CellError::kDivZero);
  EXPECT_EQ(Eval("if(x > 0, 1, x / y)", 1, 0), 1);                  // the branch not taken is ignored
  EXPECT_EQ(Err(Eval("x * y", 1e300, 1e300)), CellError::kNum);      // overflow
  EXPECT_EQ(Err(Eval("x * y - x * y", 1e300, 1e300)), CellError::kNum);
  EXPECT_EQ(Eval("iferror(x * y, -1)", 1e300, 1e300), -1);
  EXPECT_EQ(Err(Eval("x", ErrorValue(CellError::kRef))), CellError::kRef);
  // Left operand's error wins, whichever tier evaluates.
  EXPECT_EQ(Err(Eval("x + y", ErrorValue(CellError::kRef), ErrorValue(CellError::kValue))), CellError::kRef);
  EXPECT_EQ(Err(Eval("y + x", ErrorValue(CellError::kRef), ErrorValue(CellError::kValue))), CellError::kValue);
}

// Random expression text over x, y, z and constants.
std::string RandomExpr(std::mt19937_64& rng, int depth) {
  const char* leaves[] = {"x", "y", "z", "0", "1", "2.5", "-3"};
  if (depth == 0 || rng() % 4 == 0) return leaves[rng() % 7];
  auto sub = [&] { return RandomExpr(rng, depth - 1); };
  switch (rng() % 12) {
    case 0: return "(" + sub() + " + " + sub() + ")";
    case 1: return "(" + sub() + " - " + sub() + ")";
    case 2: return "(" + sub() + " * " + sub() + ")";
    case 3: return "(" + sub() + " / " + sub() + ")";
    case 4: return "(" + sub() + " < " + sub() + ")";
    case 5: return "(" + sub() + " = " + sub() + ")";
    case 6: return "(" + sub() + " and " + sub() + " or " + sub() + ")";
    case 7: return "if(" + sub() + ", " + sub() + ", " + sub() + ")";
    case 8: return "min(" + sub() + ", " + sub() + ")";
    case 9: return "iferror(" + sub() + ", " + sub() + ")";
    case 10: return "round(" + sub() + ", 1)";
    default: return "-abs(" + sub() + ")";
  }
}

TEST(FormulaEvaluate, VmAgreesWithInterpreterBitForBitOnRandomExpressions) {
  std::mt19937_64 rng(7);
  const AppModel model = testing::PnlModel();
  const double values[] = {0, 1, -1, 2.5, 1e300, -7, ErrorValue(CellError::kRef), ErrorValue(CellError::kDivZero)};
  for (int trial = 0; trial < 300; ++trial) {
    std::string text = RandomExpr(rng, 5);
    text = Rename(text);
    text = "(" + text + ") + 0 * Sales";  // every formula needs a driving input
    auto tree = Parse(text);
    ASSERT_TRUE(tree.ok()) << text << tree.status();
    auto f = Bind(model, 0, *model.dimensions[0].Find("GM"), Scope::kLeaf, **tree);
    ASSERT_TRUE(f.ok()) << f.status();
    const size_t n = 1500;  // crosses batch boundaries
    std::vector<std::vector<double>> cols(f->inputs.size(), std::vector<double>(n));
    for (auto& c : cols)
      for (double& v : c) v = values[rng() % 8];
    std::vector<const double*> ptrs;
    for (auto& c : cols) ptrs.push_back(c.data());
    Program p = Program::Compile(f->expr, static_cast<int>(cols.size()));
    std::vector<double> out(n);
    formula::Run(p, ptrs, n, out.data());
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> row;
      for (auto& c : cols) row.push_back(c[i]);
      double want = Interpret(f->expr, row);
      ASSERT_EQ(std::bit_cast<uint64_t>(out[i]), std::bit_cast<uint64_t>(want)) << text << " row " << i;
    }
  }
}

}  // namespace
}  // namespace quantatom::formula
