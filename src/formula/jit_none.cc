// The JIT tier when the build has no LLVM (QUANTATOM_JIT off): never available.
#include "formula/jit.h"

namespace quantatom::formula {

bool JitModule::Available() { return false; }

absl::StatusOr<std::unique_ptr<JitModule>> JitModule::Compile(const std::vector<const Program*>&) {
  return absl::UnimplementedError("this build has no formula JIT (configure with LLVM 15 and -DQUANTATOM_JIT=ON)");
}

}  // namespace quantatom::formula
