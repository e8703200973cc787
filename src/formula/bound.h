// A formula bound to an app: names resolved to member ids, the expression as a small tree of
// operations over numbered inputs, and the inputs themselves (what each reads from the cells).
//
// Evaluation is in two steps everywhere: first each input is read for the cells being computed
// (a column per input), then the expression combines the columns. The reference interpreter,
// the bytecode VM and the JIT differ only in the second step; ops.h has the per-value rules
// they share.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "formula/ast.h"
#include "model/app_model.h"
#include "model/cell_error.h"

namespace quantatom::formula {

// Where a formula applies. kLeaf: its member's leaf cells are computed and stored, and they
// consolidate like entered data. kConsolidated: cells with a consolidated member in some
// dimension are computed from consolidated inputs when read (ratios), never summed.
enum class Scope { kLeaf, kConsolidated, kBoth };
std::string_view ScopeName(Scope scope);
absl::StatusOr<Scope> ParseScope(std::string_view name);

// Which periods of the time dimension an input reads, relative to the cell's own period.
enum class TimeMode {
  kSame,         // the cell's period
  kShift,        // period + shift (prev: -1, next: +1, lag(n): -n, lead(n): +n)
  kYearToDate,   // first period of the year .. the cell's period
  kQuarterToDate,
  kCumulative,   // first period of the time dimension .. the cell's period
  kYearFirst,    // first period of the year
  kYearLast,     // last period of the year
};

// The periods of the time dimension in leaf order, with the windows the time functions use.
// The year of a period is its primary ancestor of level 2 (Year > Quarter > Month), or its top
// ancestor when the dimension has fewer levels; the quarter is its primary parent.
struct TimeAxis {
  int dim = -1;  // index of the time dimension in the app, -1 if it has none
  std::vector<uint32_t> year_first, year_last, quarter_first, quarter_last;  // per leaf ordinal
  // First and last period of the window `mode` reads from period `t`; empty (first > last) when
  // it reads none (a shift past either end).
  std::pair<int64_t, int64_t> Window(TimeMode mode, int shift, uint32_t t) const;
  // The inverse: the periods whose window reads period `p` (first > last when none).
  std::pair<int64_t, int64_t> Readers(TimeMode mode, int shift, uint32_t p) const;
  static TimeAxis Of(const AppModel& model);
};

struct Input {
  enum class Kind { kCells, kAttribute, kOtherApp };
  enum class Aggregate { kSum, kAverage, kCount };
  Kind kind = Kind::kCells;

  // kCells: `aggregate` over every (term, period in the time window) of the value at the term's
  // coordinate. A term holds a member per dimension, or kNoMember where it takes the cell's own
  // member (relative); in the formula's dimension kNoMember means the formula's member itself.
  // A term member may be consolidated: the value is then the consolidated sum.
  Aggregate aggregate = Aggregate::kSum;
  std::vector<Coordinate> terms;
  TimeMode time = TimeMode::kSame;
  int shift = 0;
  // An input drives the formula when every term is relative in every dimension but the
  // formula's own: the formula's cells are where its driving inputs are non-empty (no feeders).
  bool driving = false;

  // kAttribute: the attribute of the cell's member in `attr_dim`, as a number per member id
  // (an error value where the member has none or it is not a number).
  int attr_dim = -1;
  std::vector<double> attr_values;

  // kOtherApp: a cell of another app. Per dimension of the other app: a pinned member, or the
  // dimension of this app it follows (member matched by code; no match reads #REF!).
  std::string app;
  struct OtherDim {
    MemberId pinned = kNoMember;
    int follows = -1;                 // dimension of this app
    std::vector<MemberId> by_member;  // this app's member id -> other app's, or kNoMember
  };
  std::vector<OtherDim> other_dims;

  std::string text;  // the source, for messages
};

enum class Op : uint8_t {
  kConst, kInput,
  kNeg, kNot, kAbs, kRound,
  kAdd, kSub, kMul, kDiv, kEq, kNe, kLt, kLe, kGt, kGe, kAnd, kOr, kMin, kMax, kIfError,
  kIf,
};

struct Expr {
  Op op = Op::kConst;
  double value = 0;  // kConst
  int input = -1;    // kInput
  int digits = 0;    // kRound
  std::vector<Expr> args;
};

// A dependency of a formula on the cells of a member of its own dimension, and in which
// direction along time it reads them (-1: only earlier periods, 0: the same period possibly,
// +1: later periods possibly).
struct Dependency {
  MemberId member;
  int direction;
  bool operator==(const Dependency&) const = default;
};

struct BoundFormula {
  int dim = -1;
  MemberId member = kNoMember;
  Scope scope = Scope::kLeaf;
  std::string text;  // canonical (Print of the tree)
  std::vector<Input> inputs;
  Expr expr;
  std::vector<Dependency> dependencies;
  bool HasDrivingInput() const;
  bool AtLeaves() const { return scope != Scope::kConsolidated; }
  bool AtConsolidated() const { return scope != Scope::kLeaf; }
};

// Resolves the models of other apps named in lookup(); nullptr when there is no such app.
using AppResolver = std::function<const AppModel*(std::string_view app)>;

// Binds `tree` as the formula of `member` in dimension `dim` of `model`. InvalidArgument or
// NotFound with the line and column of the offending name or call.
absl::StatusOr<BoundFormula> Bind(const AppModel& model, int dim, MemberId member, Scope scope, const Node& tree,
                                  const AppResolver& apps = nullptr);

}  // namespace quantatom::formula
