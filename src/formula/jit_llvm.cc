// The JIT tier with LLVM 15 ORC (jit.h). Each Program becomes one function
//
//   void formula_i(const double* const* inputs, size_t n, double* out)
//
// whose loop body is the program's instructions as scalar IR, built to mirror ops.h operation
// for operation (the same selects, comparisons and canonical errors), without fast-math flags
// or contraction, so results are the VM's bit for bit. The module runs through LLVM's O2
// pipeline for the host CPU, which vectorises the loop.
#include <chrono>
#include <mutex>

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Target/TargetMachine.h>

#include "base/strings.h"
#include "formula/jit.h"

namespace quantatom::formula {

namespace {

std::string ErrorText(llvm::Error e) {
  std::string out;
  llvm::handleAllErrors(std::move(e), [&](const llvm::ErrorInfoBase& info) { out += info.message(); });
  return out;
}

class Emitter {
 public:
  Emitter(llvm::LLVMContext& ctx, llvm::Module& mod) : ctx_(ctx), mod_(mod), b_(ctx) {}

  void Function(const Program& p, const std::string& name) {
    auto* f64 = b_.getDoubleTy();
    auto* ptr = llvm::PointerType::getUnqual(ctx_);
    auto* i64 = b_.getInt64Ty();
    auto* type = llvm::FunctionType::get(b_.getVoidTy(), {ptr, i64, ptr}, false);
    auto* fn = llvm::Function::Create(type, llvm::Function::ExternalLinkage, name, mod_);
    fn->addParamAttr(2, llvm::Attribute::NoAlias);
    auto* entry = llvm::BasicBlock::Create(ctx_, "entry", fn);
    auto* loop = llvm::BasicBlock::Create(ctx_, "loop", fn);
    auto* exit = llvm::BasicBlock::Create(ctx_, "exit", fn);
    b_.SetInsertPoint(entry);
    llvm::Value* inputs = fn->getArg(0);
    llvm::Value* n = fn->getArg(1);
    llvm::Value* out = fn->getArg(2);
    std::vector<llvm::Value*> columns;
    for (int k = 0; k < p.inputs; ++k)
      columns.push_back(b_.CreateLoad(ptr, b_.CreateConstInBoundsGEP1_64(ptr, inputs, k)));
    b_.CreateCondBr(b_.CreateICmpEQ(n, b_.getInt64(0)), exit, loop);
    b_.SetInsertPoint(loop);
    auto* i = b_.CreatePHI(i64, 2);
    i->addIncoming(b_.getInt64(0), entry);
    std::vector<llvm::Value*> slot(p.slots, nullptr);
    for (int k = 0; k < p.inputs; ++k) slot[k] = b_.CreateLoad(f64, b_.CreateInBoundsGEP(f64, columns[k], i));
    for (const Instr& in : p.code) slot[in.dst] = Op(in, slot);
    b_.CreateStore(Canonical(slot[p.result]), b_.CreateInBoundsGEP(f64, out, i));
    llvm::Value* next = b_.CreateAdd(i, b_.getInt64(1));
    i->addIncoming(next, loop);
    b_.CreateCondBr(b_.CreateICmpULT(next, n), loop, exit);
    b_.SetInsertPoint(exit);
    b_.CreateRetVoid();
  }

 private:
  llvm::Value* C(double v) { return llvm::ConstantFP::get(b_.getDoubleTy(), v); }
  llvm::Value* Bits(uint64_t bits) { return b_.CreateBitCast(b_.getInt64(bits), b_.getDoubleTy()); }
  llvm::Value* IsErr(llvm::Value* a) { return b_.CreateFCmpUNO(a, a); }
  llvm::Value* Pick(llvm::Value* a, llvm::Value* b, llvm::Value* r) {
    return b_.CreateSelect(IsErr(a), a, b_.CreateSelect(IsErr(b), b, r));
  }
  llvm::Value* Bool(llvm::Value* cond) { return b_.CreateSelect(cond, C(1.0), C(0.0)); }
  llvm::Value* Unary(llvm::Intrinsic::ID id, llvm::Value* a) {
    return b_.CreateCall(llvm::Intrinsic::getDeclaration(&mod_, id, {b_.getDoubleTy()}), {a});
  }
  // isfinite(v) ? v : the NaN of ErrorOf(v)  (model/cell_error.h)
  llvm::Value* Canonical(llvm::Value* v) {
    llvm::Value* finite = b_.CreateFCmpONE(Unary(llvm::Intrinsic::fabs, v), C(HUGE_VAL));
    llvm::Value* bits = b_.CreateBitCast(v, b_.getInt64Ty());
    llvm::Value* code = b_.CreateAnd(bits, b_.getInt64(0xFF));
    llvm::Value* known = b_.CreateAnd(IsErr(v), b_.CreateAnd(b_.CreateICmpUGE(code, b_.getInt64(1)),
                                                             b_.CreateICmpULE(code, b_.getInt64(4))));
    llvm::Value* err = b_.CreateOr(b_.getInt64(kErrorBits),
                                   b_.CreateSelect(known, code, b_.getInt64(static_cast<uint64_t>(CellError::kNum))));
    return b_.CreateSelect(finite, v, b_.CreateBitCast(err, b_.getDoubleTy()));
  }

  llvm::Value* Op(const Instr& in, const std::vector<llvm::Value*>& s) {
    llvm::Value* a = in.a >= 0 ? s[in.a] : nullptr;
    llvm::Value* b = in.b >= 0 ? s[in.b] : nullptr;
    switch (in.op) {
      case formula::Op::kConst: return C(in.value);
      case formula::Op::kInput: return nullptr;  // never emitted
      case formula::Op::kNeg: return b_.CreateSelect(IsErr(a), a, b_.CreateFNeg(a));
      case formula::Op::kNot: return b_.CreateSelect(IsErr(a), a, Bool(b_.CreateFCmpOEQ(a, C(0))));
      case formula::Op::kAbs: return b_.CreateSelect(IsErr(a), a, Unary(llvm::Intrinsic::fabs, a));
      case formula::Op::kRound:
        return b_.CreateSelect(IsErr(a), a, b_.CreateFDiv(Unary(llvm::Intrinsic::round, b_.CreateFMul(a, C(in.value))), C(in.value)));
      case formula::Op::kAdd: return Pick(a, b, b_.CreateFAdd(a, b));
      case formula::Op::kSub: return Pick(a, b, b_.CreateFSub(a, b));
      case formula::Op::kMul: return Pick(a, b, b_.CreateFMul(a, b));
      case formula::Op::kDiv:
        return Pick(a, b, b_.CreateSelect(b_.CreateFCmpOEQ(b, C(0)), Bits(kErrorBits | static_cast<uint64_t>(CellError::kDivZero)),
                                          b_.CreateFDiv(a, b)));
      case formula::Op::kEq: return Pick(a, b, Bool(b_.CreateFCmpOEQ(a, b)));
      case formula::Op::kNe: return Pick(a, b, Bool(b_.CreateFCmpUNE(a, b)));
      case formula::Op::kLt: return Pick(a, b, Bool(b_.CreateFCmpOLT(a, b)));
      case formula::Op::kLe: return Pick(a, b, Bool(b_.CreateFCmpOLE(a, b)));
      case formula::Op::kGt: return Pick(a, b, Bool(b_.CreateFCmpOGT(a, b)));
      case formula::Op::kGe: return Pick(a, b, Bool(b_.CreateFCmpOGE(a, b)));
      case formula::Op::kAnd:
        return Pick(a, b, Bool(b_.CreateAnd(b_.CreateFCmpUNE(a, C(0)), b_.CreateFCmpUNE(b, C(0)))));
      case formula::Op::kOr:
        return Pick(a, b, Bool(b_.CreateOr(b_.CreateFCmpUNE(a, C(0)), b_.CreateFCmpUNE(b, C(0)))));
      case formula::Op::kMin: return Pick(a, b, b_.CreateSelect(b_.CreateFCmpOLT(b, a), b, a));
      case formula::Op::kMax: return Pick(a, b, b_.CreateSelect(b_.CreateFCmpOGT(b, a), b, a));
      case formula::Op::kIfError:
        return b_.CreateSelect(b_.CreateFCmpONE(Unary(llvm::Intrinsic::fabs, a), C(HUGE_VAL)), a, b);
      case formula::Op::kIf: {
        llvm::Value* c = s[in.c];
        return b_.CreateSelect(IsErr(a), a, b_.CreateSelect(b_.CreateFCmpUNE(a, C(0)), b, c));
      }
    }
    return nullptr;
  }

  llvm::LLVMContext& ctx_;
  llvm::Module& mod_;
  llvm::IRBuilder<> b_;
};

class LlvmJitModule : public JitModule {
 public:
  CompiledFn function(size_t i) const override { return functions_[i]; }
  double compile_ms() const override { return compile_ms_; }

  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::vector<CompiledFn> functions_;
  double compile_ms_ = 0;
};

}  // namespace

bool JitModule::Available() { return true; }

absl::StatusOr<std::unique_ptr<JitModule>> JitModule::Compile(const std::vector<const Program*>& programs) {
  const auto start = std::chrono::steady_clock::now();
  static std::once_flag init;
  std::call_once(init, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
  auto tmb = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!tmb) return absl::InternalError(StrCat("formula JIT: ", ErrorText(tmb.takeError())));
  auto tm = tmb->createTargetMachine();
  if (!tm) return absl::InternalError(StrCat("formula JIT: ", ErrorText(tm.takeError())));
  auto jit = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*tmb).create();
  if (!jit) return absl::InternalError(StrCat("formula JIT: ", ErrorText(jit.takeError())));

  auto ctx = std::make_unique<llvm::LLVMContext>();
  auto mod = std::make_unique<llvm::Module>("formulas", *ctx);
  mod->setDataLayout((*jit)->getDataLayout());
  mod->setTargetTriple((*tm)->getTargetTriple().str());
  Emitter emitter(*ctx, *mod);
  for (size_t i = 0; i < programs.size(); ++i) emitter.Function(*programs[i], StrCat("formula_", i));
  std::string verify;
  llvm::raw_string_ostream verify_out(verify);
  if (llvm::verifyModule(*mod, &verify_out)) return absl::InternalError(StrCat("formula JIT: bad IR: ", verify_out.str()));

  {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm->get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2).run(*mod, mam);
  }

  if (auto err = (*jit)->addIRModule(llvm::orc::ThreadSafeModule(std::move(mod), std::move(ctx))))
    return absl::InternalError(StrCat("formula JIT: ", ErrorText(std::move(err))));
  auto out = std::make_unique<LlvmJitModule>();
  for (size_t i = 0; i < programs.size(); ++i) {
    auto sym = (*jit)->lookup(StrCat("formula_", i));
    if (!sym) return absl::InternalError(StrCat("formula JIT: ", ErrorText(sym.takeError())));
    out->functions_.push_back(sym->toPtr<CompiledFn>());
  }
  out->jit = std::move(*jit);
  out->compile_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return std::unique_ptr<JitModule>(std::move(out));
}

}  // namespace quantatom::formula
