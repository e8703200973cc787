// The two evaluators of a bound expression (bound.h) over input values already read:
//
//  - Interpret: the reference. Walks the expression tree for one cell. Simple on purpose; it
//    is the oracle the tests compare the faster tiers against.
//  - Program / Run: the bytecode VM. The tree is compiled once into straight-line register
//    code; Run executes each instruction over a batch of cells at a time (a column per
//    register), so every instruction is one tight loop the compiler vectorises.
//
// Both return canonical values: a finite number, or the NaN of its error (CanonicalResult).
// The JIT tier (jit.h) compiles the same Program to machine code and gives the same bits.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "formula/bound.h"

namespace quantatom::formula {

double Interpret(const Expr& expr, std::span<const double> inputs);

struct Instr {
  Op op;
  int32_t dst, a = -1, b = -1, c = -1;  // slots: [0, inputs) read input columns, then registers
  double value = 0;                     // kConst: the constant; kRound: the scale 10^digits
};

struct Program {
  int inputs = 0;
  int slots = 0;  // inputs + registers
  int result = 0;
  std::vector<Instr> code;
  static Program Compile(const Expr& expr, int inputs);
};

// Cells are evaluated this many at a time: the registers of a batch stay in L1/L2.
inline constexpr size_t kBatch = 512;

// out[i] = the expression over inputs[k][i], for i < n. `inputs` has one column per input.
void Run(const Program& program, std::span<const double* const> inputs, size_t n, double* out);

}  // namespace quantatom::formula
