// Name resolution: from the syntax tree to a BoundFormula (bound.h).
#include <algorithm>
#include <charconv>
#include <cmath>

#include "base/strings.h"
#include "formula/bound.h"
#include "formula/parser.h"
#include "model/cell_error.h"

namespace quantatom::formula {

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kLeaf: return "leaf";
    case Scope::kConsolidated: return "consolidated";
    case Scope::kBoth: return "both";
  }
  return "leaf";
}

absl::StatusOr<Scope> ParseScope(std::string_view name) {
  if (name == "leaf") return Scope::kLeaf;
  if (name == "consolidated") return Scope::kConsolidated;
  if (name == "both") return Scope::kBoth;
  return absl::InvalidArgumentError(StrCat("unknown formula scope '", name, "' (leaf, consolidated or both)"));
}

bool BoundFormula::HasDrivingInput() const {
  for (const Input& in : inputs)
    if (in.driving) return true;
  return false;
}

TimeAxis TimeAxis::Of(const AppModel& model) {
  TimeAxis axis;
  for (size_t d = 0; d < model.dimensions.size(); ++d)
    if (model.dimensions[d].type() == DimensionType::kTime) {
      axis.dim = static_cast<int>(d);
      break;
    }
  if (axis.dim < 0) return axis;
  const Dimension& dim = model.dimensions[axis.dim];
  const uint32_t n = dim.leaf_count();
  axis.year_first.resize(n);
  axis.year_last.resize(n);
  axis.quarter_first.resize(n);
  axis.quarter_last.resize(n);
  auto primary_parent = [&](MemberId m) -> MemberId {
    auto parents = dim.parent_edges(m);
    return parents.empty() ? kNoMember : parents[0].parent;
  };
  // Each period's quarter and year as members; a window is the run of consecutive periods with
  // the same one, so that "t reads p" and "p is read by t" always agree.
  std::vector<MemberId> quarter(n), year(n);
  for (uint32_t t = 0; t < n; ++t) {
    const MemberId leaf = dim.leaf_member(t);
    quarter[t] = primary_parent(leaf);
    MemberId y = quarter[t];
    while (y != kNoMember && dim.level(y) < 2 && primary_parent(y) != kNoMember) y = primary_parent(y);
    year[t] = y;
  }
  auto runs = [&](const std::vector<MemberId>& of, std::vector<uint32_t>* first, std::vector<uint32_t>* last) {
    for (uint32_t t = 0; t < n;) {
      uint32_t end = t + 1;
      while (of[t] != kNoMember && end < n && of[end] == of[t]) ++end;
      for (uint32_t u = t; u < end; ++u) (*first)[u] = t, (*last)[u] = end - 1;
      t = end;
    }
  };
  runs(quarter, &axis.quarter_first, &axis.quarter_last);
  runs(year, &axis.year_first, &axis.year_last);
  return axis;
}

std::pair<int64_t, int64_t> TimeAxis::Window(TimeMode mode, int shift, uint32_t t) const {
  const int64_t n = static_cast<int64_t>(year_first.size());
  switch (mode) {
    case TimeMode::kSame: return {t, t};
    case TimeMode::kShift: {
      int64_t s = static_cast<int64_t>(t) + shift;
      if (s < 0 || s >= n) return {1, 0};
      return {s, s};
    }
    case TimeMode::kYearToDate: return {year_first[t], t};
    case TimeMode::kQuarterToDate: return {quarter_first[t], t};
    case TimeMode::kCumulative: return {0, t};
    case TimeMode::kYearFirst: return {year_first[t], year_first[t]};
    case TimeMode::kYearLast: return {year_last[t], year_last[t]};
  }
  return {1, 0};
}

std::pair<int64_t, int64_t> TimeAxis::Readers(TimeMode mode, int shift, uint32_t p) const {
  const int64_t n = static_cast<int64_t>(year_first.size());
  switch (mode) {
    case TimeMode::kSame: return {p, p};
    case TimeMode::kShift: {
      int64_t t = static_cast<int64_t>(p) - shift;
      if (t < 0 || t >= n) return {1, 0};
      return {t, t};
    }
    case TimeMode::kYearToDate: return {p, year_last[p]};
    case TimeMode::kQuarterToDate: return {p, quarter_last[p]};
    case TimeMode::kCumulative: return {p, n - 1};
    case TimeMode::kYearFirst:
      if (p != year_first[p]) return {1, 0};
      return {year_first[p], year_last[p]};
    case TimeMode::kYearLast:
      if (p != year_last[p]) return {1, 0};
      return {year_first[p], year_last[p]};
  }
  return {1, 0};
}

namespace {

class Binder {
 public:
  Binder(const AppModel& model, int dim, MemberId member, const AppResolver& apps)
      : model_(model), dim_(dim), member_(member), apps_(apps), time_(TimeAxis::Of(model)) {}

  absl::StatusOr<Expr> BindExpr(const Node& n) {
    switch (n.kind) {
      case NodeKind::kNumber: return Constant(n.number);
      case NodeKind::kString: return Error(n, "a string can only name an attribute or an app");
      case NodeKind::kRef: {
        QA_ASSIGN_OR_RETURN(Coordinate term, BindTerm(n));
        Input in;
        in.terms.push_back(std::move(term));
        return AddInput(std::move(in), n);
      }
      case NodeKind::kUnary: {
        QA_ASSIGN_OR_RETURN(Expr a, BindExpr(*n.args[0]));
        return Make(n.text == "not" ? Op::kNot : Op::kNeg, {std::move(a)});
      }
      case NodeKind::kBinary: {
        static const std::pair<std::string_view, Op> kOps[] = {
            {"+", Op::kAdd}, {"-", Op::kSub}, {"*", Op::kMul}, {"/", Op::kDiv}, {"=", Op::kEq},
            {"<>", Op::kNe}, {"<", Op::kLt}, {"<=", Op::kLe}, {">", Op::kGt}, {">=", Op::kGe},
            {"and", Op::kAnd}, {"or", Op::kOr}};
        Op op = Op::kAdd;
        for (auto [name, o] : kOps)
          if (n.text == name) op = o;
        QA_ASSIGN_OR_RETURN(Expr a, BindExpr(*n.args[0]));
        QA_ASSIGN_OR_RETURN(Expr b, BindExpr(*n.args[1]));
        return Make(op, {std::move(a), std::move(b)});
      }
      case NodeKind::kCall: return BindCall(n);
    }
    return Error(n, "unknown node");
  }

  std::vector<Input> inputs_;
  std::vector<Dependency> deps_;

 private:
  absl::Status Error(const Node& n, std::string_view what) const {
    return absl::InvalidArgumentError(StrCat("line ", n.line, ", column ", n.column, ": ", what));
  }
  absl::Status NotFound(const Node& n, std::string_view what) const {
    return absl::NotFoundError(StrCat("line ", n.line, ", column ", n.column, ": ", what));
  }
  static Expr Constant(double v) {
    Expr e;
    e.op = Op::kConst;
    e.value = v;
    return e;
  }
  static Expr Make(Op op, std::vector<Expr> args) {
    Expr e;
    e.op = op;
    e.args = std::move(args);
    return e;
  }

  absl::StatusOr<int> FindDim(const Node& n, std::string_view name) const {
    int d = model_.FindDimension(name);
    if (d < 0) return NotFound(n, StrCat("no dimension '", name, "' in app '", model_.name, "'"));
    return d;
  }

  absl::StatusOr<MemberId> FindMember(const Node& n, int d, std::string_view code) const {
    auto m = model_.dimensions[d].Find(code);
    if (!m) return NotFound(n, StrCat("no member '", code, "' in dimension '", model_.dimensions[d].name(), "'"));
    return *m;
  }

  // A reference: `Code`, `[Code, Dim=Code, ...]`, or (inside set functions) `Dim=Code`.
  absl::StatusOr<Coordinate> BindTerm(const Node& n) {
    std::vector<RefPart> parts;
    if (n.kind == NodeKind::kRef) {
      parts = n.parts;
    } else if (n.kind == NodeKind::kBinary && n.text == "=" && n.args[0]->kind == NodeKind::kRef &&
               !n.args[0]->bracketed && n.args[1]->kind == NodeKind::kRef && !n.args[1]->bracketed) {
      parts.push_back(RefPart{n.args[0]->parts[0].code, n.args[1]->parts[0].code});
    } else {
      return Error(n, "expected a member reference (Code, Dim=Code or [Code, Dim=Code])");
    }
    Coordinate term(model_.dimensions.size(), kNoMember);
    for (const RefPart& part : parts) {
      int d = dim_;
      if (!part.dim.empty()) {
        QA_ASSIGN_OR_RETURN(d, FindDim(n, part.dim));
      }
      if (term[d] != kNoMember) return Error(n, StrCat("dimension '", model_.dimensions[d].name(), "' named twice"));
      QA_ASSIGN_OR_RETURN(term[d], FindMember(n, d, part.code));
    }
    return term;
  }

  absl::StatusOr<Expr> AddInput(Input in, const Node& n) {
    in.text = Print(n);
    if (in.kind == Input::Kind::kCells) {
      bool driving = true;
      for (const Coordinate& term : in.terms)
        for (size_t d = 0; d < term.size(); ++d)
          if (static_cast<int>(d) != dim_ && term[d] != kNoMember) driving = false;
      in.driving = driving;
      int direction = 0;
      switch (in.time) {
        case TimeMode::kShift: direction = in.shift < 0 ? -1 : in.shift > 0 ? 1 : 0; break;
        case TimeMode::kYearLast: direction = 1; break;
        default: direction = 0;
      }
      for (const Coordinate& term : in.terms) {
        Dependency dep{term[dim_] == kNoMember ? member_ : term[dim_], direction};
        if (std::find(deps_.begin(), deps_.end(), dep) == deps_.end()) deps_.push_back(dep);
      }
    }
    // The same input twice (Revenue - COGS / Revenue) is read once.
    for (size_t i = 0; i < inputs_.size(); ++i)
      if (inputs_[i].text == in.text && inputs_[i].kind == in.kind && inputs_[i].time == in.time &&
          inputs_[i].shift == in.shift && inputs_[i].aggregate == in.aggregate) {
        Expr e;
        e.op = Op::kInput;
        e.input = static_cast<int>(i);
        return e;
      }
    inputs_.push_back(std::move(in));
    Expr e;
    e.op = Op::kInput;
    e.input = static_cast<int>(inputs_.size() - 1);
    return e;
  }

  absl::StatusOr<int> ConstantInt(const Node& n) const {
    double v;
    if (n.kind == NodeKind::kNumber) v = n.number;
    else if (n.kind == NodeKind::kUnary && n.text == "-" && n.args[0]->kind == NodeKind::kNumber) v = -n.args[0]->number;
    else return Error(n, "expected a whole number");
    if (v != std::floor(v) || std::abs(v) > 1e6) return Error(n, "expected a whole number");
    return static_cast<int>(v);
  }

  absl::Status Arity(const Node& n, size_t lo, size_t hi) const {
    if (n.args.size() < lo || n.args.size() > hi) {
      std::string want = lo == hi ? StrCat(lo) : hi == SIZE_MAX ? StrCat("at least ", lo) : StrCat(lo, " or ", hi);
      return Error(n, StrCat(n.text, "() takes ", want, " argument", lo == 1 && hi == 1 ? "" : "s", ", got ", n.args.size()));
    }
    return absl::OkStatus();
  }

  // children(X), leaves(X), level(N), level(Dim, N): the members of a set, in one dimension.
  absl::StatusOr<std::pair<int, std::vector<MemberId>>> BindSet(const Node& n) {
    if (n.kind != NodeKind::kCall || (n.text != "children" && n.text != "leaves" && n.text != "level"))
      return Error(n, "expected a member set: children(X), leaves(X) or level(N)");
    if (n.text == "level") {
      QA_RETURN_IF_ERROR(Arity(n, 1, 2));
      int d = dim_;
      if (n.args.size() == 2) {
        const Node& dn = *n.args[0];
        if (dn.kind != NodeKind::kRef || dn.bracketed) return Error(dn, "expected a dimension name");
        QA_ASSIGN_OR_RETURN(d, FindDim(dn, dn.parts[0].code));
      }
      QA_ASSIGN_OR_RETURN(int level, ConstantInt(*n.args.back()));
      std::vector<MemberId> out;
      for (MemberId m = 0; m < model_.dimensions[d].member_count(); ++m)
        if (model_.dimensions[d].level(m) == level) out.push_back(m);
      return std::make_pair(d, std::move(out));
    }
    QA_RETURN_IF_ERROR(Arity(n, 1, 1));
    QA_ASSIGN_OR_RETURN(Coordinate term, BindTerm(*n.args[0]));
    int d = -1;
    for (size_t i = 0; i < term.size(); ++i)
      if (term[i] != kNoMember) {
        if (d >= 0) return Error(n, StrCat(n.text, "() takes one member"));
        d = static_cast<int>(i);
      }
    const Dimension& dim = model_.dimensions[d];
    std::vector<MemberId> out;
    if (n.text == "children") {
      for (const Edge& e : dim.child_edges(term[d])) out.push_back(e.child);
    } else {
      for (auto [ordinal, w] : dim.LeavesUnder(term[d])) out.push_back(dim.leaf_member(ordinal));
    }
    return std::make_pair(d, std::move(out));
  }

  absl::StatusOr<Expr> BindCall(const Node& n) {
    const std::string& f = n.text;
    if (f == "if") {
      QA_RETURN_IF_ERROR(Arity(n, 3, 3));
      std::vector<Expr> args;
      for (const auto& a : n.args) {
        QA_ASSIGN_OR_RETURN(Expr e, BindExpr(*a));
        args.push_back(std::move(e));
      }
      return Make(Op::kIf, std::move(args));
    }
    if (f == "min" || f == "max") {
      QA_RETURN_IF_ERROR(Arity(n, 1, SIZE_MAX));
      QA_ASSIGN_OR_RETURN(Expr acc, BindExpr(*n.args[0]));
      for (size_t i = 1; i < n.args.size(); ++i) {
        QA_ASSIGN_OR_RETURN(Expr e, BindExpr(*n.args[i]));
        acc = Make(f == "min" ? Op::kMin : Op::kMax, {std::move(acc), std::move(e)});
      }
      return acc;
    }
    if (f == "abs") {
      QA_RETURN_IF_ERROR(Arity(n, 1, 1));
      QA_ASSIGN_OR_RETURN(Expr a, BindExpr(*n.args[0]));
      return Make(Op::kAbs, {std::move(a)});
    }
    if (f == "round") {
      QA_RETURN_IF_ERROR(Arity(n, 1, 2));
      QA_ASSIGN_OR_RETURN(Expr a, BindExpr(*n.args[0]));
      int digits = 0;
      if (n.args.size() == 2) {
        QA_ASSIGN_OR_RETURN(digits, ConstantInt(*n.args[1]));
        if (digits < -15 || digits > 15) return Error(*n.args[1], "round() takes -15 to 15 digits");
      }
      Expr e = Make(Op::kRound, {std::move(a)});
      e.digits = digits;
      return e;
    }
    if (f == "iferror") {
      QA_RETURN_IF_ERROR(Arity(n, 2, 2));
      QA_ASSIGN_OR_RETURN(Expr a, BindExpr(*n.args[0]));
      QA_ASSIGN_OR_RETURN(Expr b, BindExpr(*n.args[1]));
      return Make(Op::kIfError, {std::move(a), std::move(b)});
    }
    if (f == "sum" || f == "avg" || f == "count") {
      QA_RETURN_IF_ERROR(Arity(n, 1, 1));
      QA_ASSIGN_OR_RETURN(auto set, BindSet(*n.args[0]));
      Input in;
      in.aggregate = f == "sum" ? Input::Aggregate::kSum : f == "avg" ? Input::Aggregate::kAverage : Input::Aggregate::kCount;
      for (MemberId m : set.second) {
        Coordinate term(model_.dimensions.size(), kNoMember);
        term[set.first] = m;
        in.terms.push_back(std::move(term));
      }
      if (in.terms.empty()) return Constant(0);  // sum and count of nothing; avg too (no cells)
      return AddInput(std::move(in), n);
    }
    static const std::pair<std::string_view, TimeMode> kTime[] = {
        {"prev", TimeMode::kShift}, {"next", TimeMode::kShift}, {"lag", TimeMode::kShift},
        {"lead", TimeMode::kShift}, {"ytd", TimeMode::kYearToDate}, {"qtd", TimeMode::kQuarterToDate},
        {"cumulative", TimeMode::kCumulative}, {"first", TimeMode::kYearFirst}, {"last", TimeMode::kYearLast},
        {"average", TimeMode::kYearToDate}};
    for (auto [name, mode] : kTime) {
      if (f != name) continue;
      const bool counted = f == "lag" || f == "lead";
      QA_RETURN_IF_ERROR(Arity(n, counted ? 2 : 1, counted ? 2 : 1));
      if (time_.dim < 0) return Error(n, StrCat(f, "() needs a dimension of type time; app '", model_.name, "' has none"));
      if (time_.dim == dim_)
        return Error(n, StrCat(f, "() cannot be used in a formula on the time dimension '", model_.dimensions[dim_].name(), "'"));
      QA_ASSIGN_OR_RETURN(Coordinate term, BindTerm(*n.args[0]));
      if (term[time_.dim] != kNoMember)
        return Error(n, StrCat(f, "() reads relative periods: its reference cannot name a member of '",
                               model_.dimensions[time_.dim].name(), "'"));
      Input in;
      in.terms.push_back(std::move(term));
      in.time = mode;
      if (f == "prev") in.shift = -1;
      if (f == "next") in.shift = 1;
      if (counted) {
        QA_ASSIGN_OR_RETURN(int k, ConstantInt(*n.args[1]));
        in.shift = f == "lag" ? -k : k;
      }
      if (f == "average") in.aggregate = Input::Aggregate::kAverage;
      return AddInput(std::move(in), n);
    }
    if (f == "attr") {
      QA_RETURN_IF_ERROR(Arity(n, 1, 2));
      int d = dim_;
      if (n.args.size() == 2) {
        const Node& dn = *n.args[0];
        if (dn.kind != NodeKind::kRef || dn.bracketed) return Error(dn, "expected a dimension name");
        QA_ASSIGN_OR_RETURN(d, FindDim(dn, dn.parts[0].code));
      }
      const Node& name = *n.args.back();
      if (name.kind != NodeKind::kString) return Error(name, "expected the attribute name as a \"string\"");
      Input in;
      in.kind = Input::Kind::kAttribute;
      in.attr_dim = d;
      const Dimension& dim = model_.dimensions[d];
      for (MemberId m = 0; m < dim.member_count(); ++m) {
        std::string_view s = dim.member(m).Attribute(name.text);
        double v = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        in.attr_values.push_back(!s.empty() && ec == std::errc() && p == s.data() + s.size() && std::isfinite(v)
                                     ? v
                                     : ErrorValue(CellError::kRef));
      }
      return AddInput(std::move(in), n);
    }
    if (f == "lookup") {
      QA_RETURN_IF_ERROR(Arity(n, 2, 2));
      const Node& app = *n.args[0];
      if (app.kind != NodeKind::kString) return Error(app, "expected the app name as a \"string\"");
      const AppModel* other = apps_ ? apps_(app.text) : nullptr;
      if (!other) return NotFound(app, StrCat("no app '", app.text, "' to look up"));
      const Node& ref = *n.args[1];
      if (ref.kind != NodeKind::kRef) return Error(ref, "expected a reference into the other app ([Dim=Code, ...])");
      Input in;
      in.kind = Input::Kind::kOtherApp;
      in.app = app.text;
      in.other_dims.resize(other->dimensions.size());
      for (const RefPart& part : ref.parts) {
        if (part.dim.empty()) return Error(ref, "name the dimension of each member in another app: [Dim=Code]");
        int od = other->FindDimension(part.dim);
        if (od < 0) return NotFound(ref, StrCat("no dimension '", part.dim, "' in app '", app.text, "'"));
        auto m = other->dimensions[od].Find(part.code);
        if (!m) return NotFound(ref, StrCat("no member '", part.code, "' in dimension '", part.dim, "' of app '", app.text, "'"));
        in.other_dims[od].pinned = *m;
      }
      for (size_t od = 0; od < other->dimensions.size(); ++od) {
        Input::OtherDim& o = in.other_dims[od];
        if (o.pinned != kNoMember) continue;
        const Dimension& odim = other->dimensions[od];
        int d = model_.FindDimension(odim.name());
        if (d < 0) {
          if (odim.roots().size() != 1)
            return Error(ref, StrCat("dimension '", odim.name(), "' of app '", app.text,
                                     "' is not in this app and has several tops: name its member"));
          o.pinned = odim.roots()[0];
          continue;
        }
        o.follows = d;
        const Dimension& mine = model_.dimensions[d];
        for (MemberId m = 0; m < mine.member_count(); ++m) {
          auto om = odim.Find(mine.member(m).code);
          o.by_member.push_back(om ? *om : kNoMember);
        }
      }
      return AddInput(std::move(in), n);
    }
    if (f == "children" || f == "leaves" || f == "level")
      return Error(n, StrCat(f, "() is a member set: use it inside sum(), avg() or count()"));
    return Error(n, StrCat("unknown function '", f, "'"));
  }

  const AppModel& model_;
  const int dim_;
  const MemberId member_;
  const AppResolver& apps_;
  const TimeAxis time_;
};

}  // namespace

absl::StatusOr<BoundFormula> Bind(const AppModel& model, int dim, MemberId member, Scope scope, const Node& tree,
                                  const AppResolver& apps) {
  if (dim < 0 || dim >= static_cast<int>(model.dimensions.size()) || member >= model.dimensions[dim].member_count())
    return absl::InvalidArgumentError("formula target is not a member of the app");
  const Dimension& d = model.dimensions[dim];
  if (scope != Scope::kConsolidated && !d.is_leaf(member))
    return absl::InvalidArgumentError(StrCat("'", d.member(member).code, "' in dimension '", d.name(),
                                             "' is consolidated: a formula on it can only have scope consolidated"));
  Binder binder(model, dim, member, apps);
  QA_ASSIGN_OR_RETURN(Expr expr, binder.BindExpr(tree));
  BoundFormula f;
  f.dim = dim;
  f.member = member;
  f.scope = scope;
  f.text = Print(tree);
  f.inputs = std::move(binder.inputs_);
  f.expr = std::move(expr);
  f.dependencies = std::move(binder.deps_);
  if (f.AtLeaves() && !f.HasDrivingInput())
    return absl::InvalidArgumentError(
        StrCat("formula for '", d.member(member).code, "' reads no cell that varies with its own: its leaf cells ",
               "would never be populated (reference a member of '", d.name(), "' without pinning other dimensions)"));
  return f;
}

}  // namespace quantatom::formula
