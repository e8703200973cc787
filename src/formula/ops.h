// The value rules of every operation, one value at a time (docs/formula-language.md, "Errors").
//
// Errors are NaN-boxed (model/cell_error.h). Every operation returns its left operand's error if
// it has one, else its right operand's: so the error a cell shows does not depend on how an
// evaluator orders its work, and the interpreter, the VM and the JIT agree bit for bit. The
// kernels are branch-free selects, which compilers vectorise.
#pragma once

#include <cmath>

#include "model/cell_error.h"

namespace quantatom::formula::ops {

inline bool IsErr(double v) { return v != v; }
inline double Pick(double a, double b, double r) { return IsErr(a) ? a : IsErr(b) ? b : r; }

inline double Neg(double a) { return IsErr(a) ? a : -a; }
inline double Not(double a) { return IsErr(a) ? a : (a == 0 ? 1.0 : 0.0); }
inline double Abs(double a) { return IsErr(a) ? a : std::fabs(a); }
inline double RoundScale(int digits) { return std::pow(10.0, digits); }
inline double Round(double a, double scale) { return IsErr(a) ? a : std::round(a * scale) / scale; }
inline double Add(double a, double b) { return Pick(a, b, a + b); }
inline double Sub(double a, double b) { return Pick(a, b, a - b); }
inline double Mul(double a, double b) { return Pick(a, b, a * b); }
inline double Div(double a, double b) { return Pick(a, b, b == 0 ? ErrorValue(CellError::kDivZero) : a / b); }
inline double Eq(double a, double b) { return Pick(a, b, a == b ? 1.0 : 0.0); }
inline double Ne(double a, double b) { return Pick(a, b, a != b ? 1.0 : 0.0); }
inline double Lt(double a, double b) { return Pick(a, b, a < b ? 1.0 : 0.0); }
inline double Le(double a, double b) { return Pick(a, b, a <= b ? 1.0 : 0.0); }
inline double Gt(double a, double b) { return Pick(a, b, a > b ? 1.0 : 0.0); }
inline double Ge(double a, double b) { return Pick(a, b, a >= b ? 1.0 : 0.0); }
inline double And(double a, double b) { return Pick(a, b, (a != 0 && b != 0) ? 1.0 : 0.0); }
inline double Or(double a, double b) { return Pick(a, b, (a != 0 || b != 0) ? 1.0 : 0.0); }
inline double Min(double a, double b) { return Pick(a, b, b < a ? b : a); }
inline double Max(double a, double b) { return Pick(a, b, b > a ? b : a); }
// iferror(a, b): b when a is an error or not finite.
inline double IfError(double a, double b) { return std::isfinite(a) ? a : b; }
inline double If(double c, double a, double b) { return IsErr(c) ? c : (c != 0 ? a : b); }

}  // namespace quantatom::formula::ops
