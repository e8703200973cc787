// The JIT tier: formula Programs (evaluate.h) compiled to machine code with LLVM 15 ORC, many
// formulas per module (creating a module costs milliseconds; a formula in a shared module
// costs far less). Each compiled function evaluates n cells over input columns exactly as
// Run() does, bit for bit: the same operations in the same order, the same error rules.
//
// Optional twice: at build time (CMake option QUANTATOM_JIT, on when LLVM 15 is found; without
// it Available() is false and Compile fails with Unimplemented) and at run time (callers pick
// the VM instead). Thread-safe once compiled: the functions are pure.
#pragma once

#include <memory>
#include <vector>

#include "base/status.h"
#include "formula/evaluate.h"

namespace quantatom::formula {

using CompiledFn = void (*)(const double* const* inputs, size_t n, double* out);

class JitModule {
 public:
  virtual ~JitModule() = default;
  static bool Available();
  // One function per program, in order. Unimplemented without LLVM; Internal if LLVM fails.
  static absl::StatusOr<std::unique_ptr<JitModule>> Compile(const std::vector<const Program*>& programs);
  virtual CompiledFn function(size_t i) const = 0;
  virtual double compile_ms() const = 0;  // wall time of Compile
};

}  // namespace quantatom::formula
