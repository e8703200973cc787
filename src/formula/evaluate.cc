#include "formula/evaluate.h"

#include <memory>

#include "formula/ops.h"

namespace quantatom::formula {

double InterpretRaw(const Expr& e, std::span<const double> in) {
  auto arg = [&](int i) { return InterpretRaw(e.args[i], in); };
  switch (e.op) {
    case Op::kConst: return e.value;
    case Op::kInput: return in[e.input];
    case Op::kNeg: return ops::Neg(arg(0));
    case Op::kNot: return ops::Not(arg(0));
    case Op::kAbs: return ops::Abs(arg(0));
    case Op::kRound: return ops::Round(arg(0), ops::RoundScale(e.digits));
    case Op::kAdd: return ops::Add(arg(0), arg(1));
    case Op::kSub: return ops::Sub(arg(0), arg(1));
    case Op::kMul: return ops::Mul(arg(0), arg(1));
    case Op::kDiv: return ops::Div(arg(0), arg(1));
    case Op::kEq: return ops::Eq(arg(0), arg(1));
    case Op::kNe: return ops::Ne(arg(0), arg(1));
    case Op::kLt: return ops::Lt(arg(0), arg(1));
    case Op::kLe: return ops::Le(arg(0), arg(1));
    case Op::kGt: return ops::Gt(arg(0), arg(1));
    case Op::kGe: return ops::Ge(arg(0), arg(1));
    case Op::kAnd: return ops::And(arg(0), arg(1));
    case Op::kOr: return ops::Or(arg(0), arg(1));
    case Op::kMin: return ops::Min(arg(0), arg(1));
    case Op::kMax: return ops::Max(arg(0), arg(1));
    case Op::kIfError: return ops::IfError(arg(0), arg(1));
    case Op::kIf: return ops::If(arg(0), arg(1), arg(2));
  }
  return ErrorValue(CellError::kNum);
}

double Interpret(const Expr& expr, std::span<const double> inputs) {
  return CanonicalResult(InterpretRaw(expr, inputs));
}

namespace {

int Emit(const Expr& e, Program* p) {
  if (e.op == Op::kInput) return e.input;
  Instr in{};
  in.op = e.op;
  if (e.op == Op::kConst) in.value = e.value;
  if (e.op == Op::kRound) in.value = ops::RoundScale(e.digits);
  if (e.args.size() > 0) in.a = Emit(e.args[0], p);
  if (e.args.size() > 1) in.b = Emit(e.args[1], p);
  if (e.args.size() > 2) in.c = Emit(e.args[2], p);
  in.dst = p->slots++;
  p->code.push_back(in);
  return in.dst;
}

template <typename F>
void Unary(double* d, const double* a, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) d[i] = f(a[i]);
}
template <typename F>
void Binary(double* d, const double* a, const double* b, size_t n, F f) {
  for (size_t i = 0; i < n; ++i) d[i] = f(a[i], b[i]);
}

}  // namespace

Program Program::Compile(const Expr& expr, int inputs) {
  Program p;
  p.inputs = inputs;
  p.slots = inputs;
  p.result = Emit(expr, &p);
  return p;
}

void Run(const Program& program, std::span<const double* const> inputs, size_t n, double* out) {
  const int registers = program.slots - program.inputs;
  std::unique_ptr<double[]> storage(new double[static_cast<size_t>(registers > 0 ? registers : 1) * kBatch]);
  std::vector<const double*> slot(program.slots);
  for (size_t start = 0; start < n; start += kBatch) {
    const size_t m = std::min(kBatch, n - start);
    for (int i = 0; i < program.inputs; ++i) slot[i] = inputs[i] + start;
    for (int r = 0; r < registers; ++r) slot[program.inputs + r] = storage.get() + static_cast<size_t>(r) * kBatch;
    for (const Instr& in : program.code) {
      double* d = storage.get() + static_cast<size_t>(in.dst - program.inputs) * kBatch;
      const double* a = in.a >= 0 ? slot[in.a] : nullptr;
      const double* b = in.b >= 0 ? slot[in.b] : nullptr;
      switch (in.op) {
        case Op::kConst:
          for (size_t i = 0; i < m; ++i) d[i] = in.value;
          break;
        case Op::kInput: break;  // never emitted
        case Op::kNeg: Unary(d, a, m, ops::Neg); break;
        case Op::kNot: Unary(d, a, m, ops::Not); break;
        case Op::kAbs: Unary(d, a, m, ops::Abs); break;
        case Op::kRound: {
          const double scale = in.value;
          Unary(d, a, m, [scale](double x) { return ops::Round(x, scale); });
          break;
        }
        case Op::kAdd: Binary(d, a, b, m, ops::Add); break;
        case Op::kSub: Binary(d, a, b, m, ops::Sub); break;
        case Op::kMul: Binary(d, a, b, m, ops::Mul); break;
        case Op::kDiv: Binary(d, a, b, m, ops::Div); break;
        case Op::kEq: Binary(d, a, b, m, ops::Eq); break;
        case Op::kNe: Binary(d, a, b, m, ops::Ne); break;
        case Op::kLt: Binary(d, a, b, m, ops::Lt); break;
        case Op::kLe: Binary(d, a, b, m, ops::Le); break;
        case Op::kGt: Binary(d, a, b, m, ops::Gt); break;
        case Op::kGe: Binary(d, a, b, m, ops::Ge); break;
        case Op::kAnd: Binary(d, a, b, m, ops::And); break;
        case Op::kOr: Binary(d, a, b, m, ops::Or); break;
        case Op::kMin: Binary(d, a, b, m, ops::Min); break;
        case Op::kMax: Binary(d, a, b, m, ops::Max); break;
        case Op::kIfError: Binary(d, a, b, m, ops::IfError); break;
        case Op::kIf: {
          const double* c = slot[in.c];
          for (size_t i = 0; i < m; ++i) d[i] = ops::If(a[i], b[i], c[i]);
          break;
        }
      }
    }
    const double* r = slot[program.result];
    for (size_t i = 0; i < m; ++i) out[start + i] = CanonicalResult(r[i]);
  }
}

}  // namespace quantatom::formula
