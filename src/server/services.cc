#include "server/services.h"

#include <cmath>
#include <limits>
#include <map>
#include <mutex>

#include "api/quantatom/v1/admin.pb.h"
#include "api/quantatom/v1/apps.pb.h"
#include "api/quantatom/v1/grid.pb.h"
#include "api/quantatom/v1/options.pb.h"
#include "api/quantatom/v1/planning.pb.h"
#include "api/quantatom/v1/write.pb.h"
#include "audit/audit_trail.h"
#include "base/large_allocator.h"
#include "base/status.h"
#include "base/strings.h"
#include "bridge/bridge_rules.h"
#include "model/model_json.h"
#include "query/consolidate.h"
#include "query/member_set.h"
#include "security/secure_read.h"
#include "server/live_grids.h"

namespace quantatom {
namespace {

namespace v1 = ::quantatom::v1;
using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

template <typename S>
std::string Msg(const S& st) {
  return std::string(st.message().data(), st.message().size());
}

// The app as one user may use it.
struct UserApp {
  std::shared_ptr<HostedApp> app;
  std::shared_ptr<const CellRights> rights;
  TotalsPolicy policy = TotalsPolicy::kVisibleOnly;
  const AppModel& model() const { return app->cube().model(); }
  const Cube& cube() const { return app->cube(); }
};

absl::Status AppNotFound(const std::string& name) { return absl::NotFoundError(StrCat("app '", name, "' not found")); }

absl::StatusOr<int> FindDim(const UserApp& ua, const std::string& name) {
  int d = ua.model().FindDimension(name);
  if (d < 0) return absl::NotFoundError(StrCat("app '", ua.app->name, "' has no dimension '", name, "'"));
  return d;
}

// A member the user may name; invisible members read as unknown.
absl::StatusOr<MemberId> FindMember(const UserApp& ua, int d, const std::string& code) {
  const Dimension& dim = ua.model().dimensions[d];
  auto m = dim.Find(code);
  if (!m || !ua.rights->MemberVisible(d, *m)) {
    return absl::NotFoundError(StrCat("no member '", code, "' in dimension '", dim.name(), "'"));
  }
  return *m;
}

absl::StatusOr<Coordinate> ToCoordinate(const UserApp& ua, const v1::Coordinate& pb, std::string_view what) {
  const AppModel& model = ua.model();
  if (static_cast<size_t>(pb.members_size()) != model.dimensions.size()) {
    std::vector<std::string> names;
    for (const Dimension& d : model.dimensions) names.push_back(d.name());
    return absl::InvalidArgumentError(StrCat(what, ": ", pb.members_size(), " members given, app '", ua.app->name,
                                             "' has ", model.dimensions.size(), " dimensions (",
                                             StrJoin(names, ", "), ")"));
  }
  Coordinate c(model.dimensions.size());
  for (size_t d = 0; d < c.size(); ++d) {
    auto m = FindMember(ua, static_cast<int>(d), pb.members(d));
    if (!m.ok()) return absl::Status(m.status().code(), StrCat(what, ": ", Msg(m.status())));
    c[d] = *m;
  }
  return c;
}

void FromCoordinate(const AppModel& model, const Coordinate& c, v1::Coordinate* out) {
  for (size_t d = 0; d < c.size(); ++d) out->add_members(model.dimensions[d].member(c[d]).code);
}

void FromValue(const CellValue& v, v1::CellValue* out) {
  if (v.is_number()) out->set_number(v.number);
  if (v.is_text()) out->set_text(v.text);
}

absl::StatusOr<CellValue> ToValue(const v1::CellValue& v, std::string_view what) {
  switch (v.kind_case()) {
    case v1::CellValue::kNumber:
      if (!std::isfinite(v.number())) return absl::InvalidArgumentError(StrCat(what, ": not a finite number"));
      return CellValue::Number(v.number());
    case v1::CellValue::kText:
      return CellValue::Text(v.text());
    default:
      return CellValue::Empty();
  }
}

absl::StatusOr<Axis> ToAxis(const UserApp& ua, const v1::Axis& pb, std::string_view what) {
  std::vector<int> dims;
  std::vector<std::vector<MemberId>> lists;
  for (int i = 0; i < pb.parts_size(); ++i) {
    const v1::AxisPart& part = pb.parts(i);
    QA_ASSIGN_OR_RETURN(int d, FindDim(ua, part.dimension()));
    std::vector<MemberId> members;
    if (!part.member_set().empty()) {
      auto set = ParseMemberSet(ua.model().dimensions[d], part.member_set());
      if (!set.ok()) return absl::Status(set.status().code(), StrCat(what, " '", part.dimension(), "': ", Msg(set.status())));
      // Members the user may not see are left out, as if the expression did not match them.
      for (MemberId m : *set) {
        if (ua.rights->MemberVisible(d, m)) members.push_back(m);
      }
    } else {
      for (const std::string& code : part.members()) {
        QA_ASSIGN_OR_RETURN(MemberId m, FindMember(ua, d, code));
        members.push_back(m);
      }
    }
    if (members.empty()) return absl::InvalidArgumentError(StrCat(what, " '", part.dimension(), "' has no members"));
    dims.push_back(d);
    lists.push_back(std::move(members));
  }
  return CrossJoin(std::move(dims), lists);
}

absl::StatusOr<GridQuery> ToGridQuery(const UserApp& ua, const v1::GridSpec& spec) {
  GridQuery q;
  QA_ASSIGN_OR_RETURN(q.rows, ToAxis(ua, spec.rows(), "rows"));
  QA_ASSIGN_OR_RETURN(q.cols, ToAxis(ua, spec.cols(), "cols"));
  for (const v1::Slicer& s : spec.slicers()) {
    QA_ASSIGN_OR_RETURN(int d, FindDim(ua, s.dimension()));
    QA_ASSIGN_OR_RETURN(MemberId m, FindMember(ua, d, s.member()));
    q.slicers.emplace_back(d, m);
  }
  // A grid with no axis is one cell.
  if (q.rows.tuples.empty()) q.rows.tuples.push_back({});
  if (q.cols.tuples.empty()) q.cols.tuples.push_back({});
  if (q.rows.tuples.size() * q.cols.tuples.size() > 4'000'000) {
    return absl::ResourceExhaustedError("a grid may have at most 4,000,000 cells; narrow the axes");
  }
  return q;
}

void Headers(const AppModel& model, const Axis& axis, google::protobuf::RepeatedPtrField<v1::HeaderTuple>* out,
             google::protobuf::RepeatedPtrField<std::string>* dims) {
  for (int d : axis.dims) dims->Add(std::string(model.dimensions[d].name()));
  for (const auto& t : axis.tuples) {
    v1::HeaderTuple* h = out->Add();
    for (size_t i = 0; i < t.size(); ++i) h->add_members(model.dimensions[axis.dims[i]].member(t[i]).code);
  }
}

v1::CellKind KindOf(const CellValue& v, bool hidden) {
  if (hidden) return v1::CELL_KIND_HIDDEN;
  if (v.is_number()) return v1::CELL_KIND_NUMBER;
  if (v.is_text()) return v1::CELL_KIND_TEXT;
  return v1::CELL_KIND_EMPTY;
}

void FillLayer(const SecureGrid& g, v1::LayerCells* out) {
  for (size_t i = 0; i < g.grid.cells.size(); ++i) {
    const CellValue& v = g.grid.cells[i];
    out->add_kinds(KindOf(v, g.hidden[i]));
    out->add_numbers(v.is_number() && !g.hidden[i] ? v.number : 0);
    if (v.is_text() && !g.hidden[i]) (*out->mutable_texts())[static_cast<uint32_t>(i)] = v.text;
  }
}

void FromVariance(const Variance& v, v1::VarianceValue* out) {
  out->set_present(v.abs.has_value());
  if (v.abs) out->set_absolute(*v.abs);
  out->set_has_percent(v.pct.has_value());
  if (v.pct) out->set_percent(*v.pct);
}

void FromLayers(const LayerValues& l, v1::LayerValues* out) {
  if (l.plan) out->mutable_plan()->set_number(*l.plan);
  if (l.actual) out->mutable_actual()->set_number(*l.actual);
  if (l.target) out->mutable_target()->set_number(*l.target);
  FromVariance(l.actual_vs_plan, out->mutable_actual_vs_plan());
  FromVariance(l.plan_vs_target, out->mutable_plan_vs_target());
  FromVariance(l.actual_vs_target, out->mutable_actual_vs_target());
}

absl::StatusOr<SpreadMethod> ToSpreadMethod(v1::SpreadMethod m) {
  switch (m) {
    case v1::SPREAD_METHOD_PROPORTIONAL: return SpreadMethod::kProportional;
    case v1::SPREAD_METHOD_EQUAL: return SpreadMethod::kEqual;
    case v1::SPREAD_METHOD_REPEAT: return SpreadMethod::kRepeat;
    case v1::SPREAD_METHOD_PERCENT: return SpreadMethod::kPercentChange;
    case v1::SPREAD_METHOD_ADD: return SpreadMethod::kAdd;
    case v1::SPREAD_METHOD_CLEAR: return SpreadMethod::kClear;
    case v1::SPREAD_METHOD_RELATIVE: return SpreadMethod::kRelative;
    case v1::SPREAD_METHOD_STRAIGHT_LINE: return SpreadMethod::kStraightLine;
    case v1::SPREAD_METHOD_GROWTH: return SpreadMethod::kGrowth;
    default: return absl::InvalidArgumentError(StrCat("unknown spread method ", static_cast<int>(m)));
  }
}

void FromCommitted(const UserApp& ua, const Committed& c, v1::ChangeSummary* out) {
  out->set_change_set(c.change_set);
  out->set_seq(c.seq);
  out->set_cells_changed(c.cells);
  out->set_superseded(c.superseded);
  for (const WriteConflict& w : c.conflicts) {
    v1::Conflict* pc = out->add_conflicts();
    FromCoordinate(ua.model(), w.coord, pc->mutable_coordinate());
    if (ua.rights->CanRead(w.coord)) FromValue(w.current, pc->mutable_current());
    FromValue(w.mine, pc->mutable_wanted());
    pc->set_changed_by(w.change.user);
  }
}

ConflictPolicy PolicyOf(v1::ConflictPolicy p) {
  return p == v1::CONFLICT_POLICY_KEEP_MINE     ? ConflictPolicy::kKeepMine
         : p == v1::CONFLICT_POLICY_KEEP_THEIRS ? ConflictPolicy::kKeepTheirs
                                                : ConflictPolicy::kAbort;
}

void FromComment(const AppModel& model, const Comment& c, v1::Comment* out) {
  out->set_id(c.id);
  FromCoordinate(model, c.coordinate, out->mutable_coordinate());
  out->set_author(c.author);
  out->set_unix_millis(c.time_ms);
  out->set_text(c.text);
  out->set_has_adjust(c.adjustment.has_value());
  if (c.adjustment) out->set_adjust(*c.adjustment);
  out->set_parent(c.parent);
}

// A sandbox's grid as the user may see it. Leaves and totals the user reads in full (or under
// include_hidden) show the sandbox's values; any other cell is hidden, including totals that
// visible_only would show as a sum of the readable leaves outside a sandbox (not computed
// through a sandbox's overlay: hiding them reveals nothing).
absl::StatusOr<SecureGrid> SandboxQueryAs(const Sandbox& box, const UserApp& ua, const GridQuery& q,
                                          const Cube::ReadOptions& opts) {
  SecureGrid out;
  QA_ASSIGN_OR_RETURN(out.grid, box.Query(q, opts));
  out.hidden.assign(out.grid.cells.size(), 0);
  if (ua.rights->admin()) return out;
  QA_ASSIGN_OR_RETURN(ResolvedGrid rg, ResolveGrid(ua.model(), q));
  for (size_t r = 0; r < out.grid.rows; ++r) {
    for (size_t c = 0; c < out.grid.cols; ++c) {
      const size_t i = r * out.grid.cols + c;
      const Coordinate coord = rg.CellCoordinate(q, r, c);
      bool shown = ua.rights->CanRead(coord) &&
                   (ua.model().IsLeaf(coord) || ua.policy == TotalsPolicy::kIncludeHidden || ua.rights->ReadsAllBelow(coord));
      if (!shown) {
        out.hidden[i] = 1;
        out.grid.cells[i] = CellValue::Empty();
      }
    }
  }
  return out;
}

// Every cell the sandbox changed must be writable by the user now (rights may have changed
// since the cells were written into it).
absl::Status CheckSandboxWritable(const Sandbox& box, const UserApp& ua) {
  if (ua.rights->admin()) return absl::OkStatus();
  const KeyLayout& layout = ua.cube().layout();
  for (uint64_t key : box.Keys()) {
    Coordinate c(ua.model().dimensions.size());
    for (size_t d = 0; d < c.size(); ++d) c[d] = ua.model().dimensions[d].leaf_member(layout.Get(key, d));
    if (!ua.rights->CanWrite(c)) {
      return absl::PermissionDeniedError(StrCat("the sandbox holds a cell you may no longer write (",
                                                ua.model().FormatCoordinate(c), "); discard it"));
    }
  }
  return absl::OkStatus();
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

ApiServices::ApiServices(AppHost* host, TokenStore* tokens, Metrics* metrics, ServiceOptions options)
    : host_(host), tokens_(tokens), metrics_(metrics), options_(options) {}

ApiServices::~ApiServices() = default;

size_t ApiServices::subscribers() const { return live_ ? live_->streams() : 0; }

Authorizer ApiServices::MakeAuthorizer() const {
  TokenStore* tokens = tokens_;
  return [tokens](std::string_view authorization,
                  const MethodDescriptor& method) -> absl::StatusOr<std::shared_ptr<const User>> {
    QA_ASSIGN_OR_RETURN(auto user, tokens->Authenticate(authorization));
    v1::Right right = method.options().GetExtension(v1::required_right);
    switch (right) {
      case v1::RIGHT_READ:
      case v1::RIGHT_WRITE:
      case v1::RIGHT_AUTHENTICATED:
        return user;
      case v1::RIGHT_MODEL_ADMIN:
      case v1::RIGHT_SERVER_ADMIN:
        if (user->admin) return user;
        return absl::PermissionDeniedError(StrCat(method.name(), " needs an administrator"));
      default:
        return absl::PermissionDeniedError(StrCat(method.full_name(), " declares no right; refused"));
    }
  };
}

void ApiServices::Register(ConnectServer& server) {
  auto* pool = google::protobuf::DescriptorPool::generated_pool();
  // Every method of every service first answers unimplemented; the served ones replace it.
  for (const google::protobuf::FileDescriptor* file :
       {v1::ListAppsRequest::descriptor()->file(), v1::QueryGridRequest::descriptor()->file(),
        v1::WriteCellsRequest::descriptor()->file(), v1::SetHoldRequest::descriptor()->file(),
        v1::WhoAmIRequest::descriptor()->file()}) {
    for (int s = 0; s < file->service_count(); ++s) {
      for (int m = 0; m < file->service(s)->method_count(); ++m) {
        const MethodDescriptor* md = file->service(s)->method(m);
        std::string name = md->full_name();
        if (md->server_streaming()) {
          server.HandleStream(md, [name](CallContext&, const Message&, StreamWriter&) {
            return absl::UnimplementedError(StrCat(name, " is not served yet"));
          });
        } else {
          server.HandleUnary(md, [name](CallContext&, const Message&, Message*) {
            return absl::UnimplementedError(StrCat(name, " is not served yet"));
          });
        }
      }
    }
  }
  auto method = [pool](const std::string& full) {
    const MethodDescriptor* md = pool->FindMethodByName(full);
    if (md == nullptr) std::abort();  // a name below does not match the proto: a build error in effect
    return md;
  };
  // Typed registration.
  auto unary = [&]<typename Req, typename Resp>(const std::string& full,
                                                std::function<absl::Status(CallContext&, const Req&, Resp*)> fn) {
    server.HandleUnary(method(full), [fn](CallContext& ctx, const Message& req, Message* resp) {
      return fn(ctx, static_cast<const Req&>(req), static_cast<Resp*>(resp));
    });
  };
  AppHost* host = host_;
  const ServiceOptions opts = options_;
  Metrics* metrics = metrics_;
  TokenStore* tokens = tokens_;

  // The app as the caller may use it, or not found.
  auto open = [host, opts](const CallContext& ctx, const std::string& name) -> absl::StatusOr<UserApp> {
    UserApp ua;
    ua.app = host->Find(name);
    if (!ua.app) return AppNotFound(name);
    ua.rights = ua.app->security->Compile(ctx.user->roles, ctx.user->admin, opts.rights_cache);
    if (!ua.rights->app_visible()) return AppNotFound(name);
    ua.policy = ua.app->security->totals_policy();
    return ua;
  };
  Cube::ReadOptions read_opts;
  read_opts.use_cache = opts.grid_cache;

  // ---------------- AppService
  unary.operator()<v1::ListAppsRequest, v1::ListAppsResponse>(
      "quantatom.v1.AppService.ListApps", [=](CallContext& ctx, const v1::ListAppsRequest&, v1::ListAppsResponse* resp) {
        for (const std::string& name : host->AppNames()) {
          auto ua = open(ctx, name);
          if (!ua.ok()) continue;
          v1::AppInfo* a = resp->add_apps();
          a->set_name(name);
          a->set_planning_type(std::string(PlanningTypeName(ua->model().planning_type)));
          for (const Dimension& d : ua->model().dimensions) a->add_dimensions(d.name());
          a->set_totals_policy(static_cast<v1::TotalsPolicy>(ua->policy));
          a->set_seq(ua->cube().CurrentSeq());
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::GetAppRequest, v1::AppInfo>(
      "quantatom.v1.AppService.GetApp", [=](CallContext& ctx, const v1::GetAppRequest& req, v1::AppInfo* a) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        a->set_name(req.app());
        a->set_planning_type(std::string(PlanningTypeName(ua.model().planning_type)));
        for (const Dimension& d : ua.model().dimensions) a->add_dimensions(d.name());
        a->set_totals_policy(static_cast<v1::TotalsPolicy>(ua.policy));
        a->set_seq(ua.cube().CurrentSeq());
        return absl::OkStatus();
      });
  unary.operator()<v1::ListDimensionsRequest, v1::ListDimensionsResponse>(
      "quantatom.v1.AppService.ListDimensions",
      [=](CallContext& ctx, const v1::ListDimensionsRequest& req, v1::ListDimensionsResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        for (size_t d = 0; d < ua.model().dimensions.size(); ++d) {
          const Dimension& dim = ua.model().dimensions[d];
          v1::DimensionInfo* info = resp->add_dimensions();
          info->set_name(dim.name());
          info->set_type(std::string(DimensionTypeName(dim.type())));
          uint32_t members = 0, leaves = 0;
          for (MemberId m = 0; m < dim.member_count(); ++m) {
            if (!ua.rights->MemberVisible(d, m)) continue;
            ++members;
            leaves += dim.is_leaf(m);
          }
          info->set_member_count(members);
          info->set_leaf_count(leaves);
          for (MemberId r : dim.roots()) {
            if (ua.rights->MemberVisible(d, r)) info->add_roots(dim.member(r).code);
          }
          info->set_max_level(dim.max_level());
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::ListMembersRequest, v1::ListMembersResponse>(
      "quantatom.v1.AppService.ListMembers",
      [=](CallContext& ctx, const v1::ListMembersRequest& req, v1::ListMembersResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(int d, FindDim(ua, req.dimension()));
        const Dimension& dim = ua.model().dimensions[d];
        std::vector<MemberId> set;
        if (req.member_set().empty()) {
          for (MemberId m = 0; m < dim.member_count(); ++m) set.push_back(m);
        } else {
          auto parsed = ParseMemberSet(dim, req.member_set());
          if (!parsed.ok()) return absl::Status(parsed.status().code(), StrCat("member_set: ", Msg(parsed.status())));
          set = std::move(*parsed);
        }
        std::erase_if(set, [&](MemberId m) { return !ua.rights->MemberVisible(d, m); });
        resp->set_total(static_cast<uint32_t>(set.size()));
        const size_t limit = req.limit() == 0 ? 10'000 : req.limit();
        for (size_t i = req.offset(); i < set.size() && i < req.offset() + limit; ++i) {
          MemberId m = set[i];
          v1::MemberInfo* info = resp->add_members();
          info->set_id(m);
          info->set_code(dim.member(m).code);
          info->set_name(dim.member(m).name);
          info->set_level(static_cast<uint32_t>(dim.level(m)));
          info->set_leaf(dim.is_leaf(m));
          for (const Edge& e : dim.parent_edges(m)) {
            v1::ParentEdge* p = info->add_parents();
            p->set_parent(dim.member(e.parent).code);
            p->set_weight(e.weight);
          }
          if (req.include_attributes()) {
            for (const auto& [k, v] : dim.member(m).attributes) (*info->mutable_attributes())[k] = v;
          }
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::ImportModelRequest, v1::AppInfo>(
      "quantatom.v1.AppService.ImportModel", [=](CallContext& ctx, const v1::ImportModelRequest& req, v1::AppInfo* a) {
        QA_ASSIGN_OR_RETURN(ModelFile file, ParseModelJson("model_json", req.model_json()));
        std::string name = file.model.name;
        QA_RETURN_IF_ERROR(host->AddApp(std::move(file.model), ctx.user->name));
        auto app = host->Find(name);
        if (!file.cells.empty()) {
          std::vector<CellWrite> batch;
          for (auto& c : file.cells) batch.push_back({std::move(c.coord), std::move(c.value)});
          QA_RETURN_IF_ERROR(host->Write(*app, ctx.user->name, batch).status());
        }
        a->set_name(name);
        a->set_planning_type(std::string(PlanningTypeName(app->cube().model().planning_type)));
        for (const Dimension& d : app->cube().model().dimensions) a->add_dimensions(d.name());
        a->set_seq(app->cube().CurrentSeq());
        return absl::OkStatus();
      });

  // ---------------- GridService
  unary.operator()<v1::QueryGridRequest, v1::QueryGridResponse>(
      "quantatom.v1.GridService.QueryGrid",
      [=](CallContext& ctx, const v1::QueryGridRequest& req, v1::QueryGridResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.grid().app()));
        QA_ASSIGN_OR_RETURN(GridQuery q, ToGridQuery(ua, req.grid()));
        SecureGrid g;
        if (req.sandbox().empty()) {
          QA_ASSIGN_OR_RETURN(g, QueryAs(ua.cube(), q, *ua.rights, ua.policy, read_opts));
        } else {
          QA_ASSIGN_OR_RETURN(auto box, host->FindSandbox(*ua.app, ctx.user->name, req.sandbox()));
          QA_ASSIGN_OR_RETURN(g, SandboxQueryAs(*box, ua, q, read_opts));
        }
        resp->set_rows(g.grid.rows);
        resp->set_cols(g.grid.cols);
        resp->set_seq(ua.cube().CurrentSeq());
        Headers(ua.model(), q.rows, resp->mutable_row_headers(), resp->mutable_row_dimensions());
        Headers(ua.model(), q.cols, resp->mutable_col_headers(), resp->mutable_col_dimensions());
        std::vector<v1::Layer> layers;
        for (int l : req.layers()) {
          if (!v1::Layer_IsValid(l)) return absl::InvalidArgumentError(StrCat("unknown layer ", l));
          layers.push_back(static_cast<v1::Layer>(l));
        }
        if (layers.empty()) layers.push_back(v1::LAYER_PLAN);
        QA_ASSIGN_OR_RETURN(ResolvedGrid rg, ResolveGrid(ua.model(), q));
        std::vector<Coordinate> coords;
        for (size_t r = 0; r < g.grid.rows; ++r)
          for (size_t c = 0; c < g.grid.cols; ++c) coords.push_back(rg.CellCoordinate(q, r, c));
        // Layers beyond the plan need every leaf below readable (or the include_hidden policy):
        // targets, actuals and adjustments at hidden leaves would show through otherwise.
        auto full = [&](const Coordinate& c) {
          return ua.rights->CanRead(c) && (ua.policy == TotalsPolicy::kIncludeHidden || ua.rights->ReadsAllBelow(c));
        };
        for (v1::Layer layer : layers) {
          v1::LayerCells* out = resp->add_layers();
          out->set_layer(layer == v1::LAYER_UNSPECIFIED ? v1::LAYER_PLAN : layer);
          if (layer == v1::LAYER_PLAN || layer == v1::LAYER_UNSPECIFIED) {
            FillLayer(g, out);
            continue;
          }
          if (layer == v1::LAYER_ADJUSTED) {
            for (size_t i = 0; i < coords.size(); ++i) {
              if (!full(coords[i])) {
                out->add_kinds(v1::CELL_KIND_HIDDEN);
                out->add_numbers(0);
                continue;
              }
              QA_ASSIGN_OR_RETURN(CellValue v, ua.app->comments->Adjusted(coords[i], g.grid.cells[i]));
              out->add_kinds(KindOf(v, false));
              out->add_numbers(v.is_number() ? v.number : 0);
              if (v.is_text()) (*out->mutable_texts())[static_cast<uint32_t>(i)] = v.text;
            }
            continue;
          }
          if (!ua.app->targets) return absl::FailedPreconditionError("this app has no plan / actual / target layers (no scenario dimension with Budget and Actual)");
          for (size_t i = 0; i < coords.size(); ++i) {
            if (!full(coords[i])) {
              out->add_kinds(v1::CELL_KIND_HIDDEN);
              out->add_numbers(0);
              continue;
            }
            auto lv = ua.app->targets->Layers(coords[i]);
            if (!lv.ok()) {
              out->add_kinds(v1::CELL_KIND_ERROR);
              out->add_numbers(0);
              (*resp->mutable_metadata()->mutable_errors())[static_cast<uint32_t>(i)] = Msg(lv.status());
              continue;
            }
            std::optional<double> v;
            switch (layer) {
              case v1::LAYER_ACTUAL: v = lv->actual; break;
              case v1::LAYER_TARGET: v = lv->target; break;
              case v1::LAYER_VARIANCE_ACTUAL_VS_PLAN: v = lv->actual_vs_plan.abs; break;
              case v1::LAYER_VARIANCE_PLAN_VS_TARGET: v = lv->plan_vs_target.abs; break;
              case v1::LAYER_VARIANCE_ACTUAL_VS_TARGET: v = lv->actual_vs_target.abs; break;
              default: break;
            }
            out->add_kinds(v ? v1::CELL_KIND_NUMBER : v1::CELL_KIND_EMPTY);
            out->add_numbers(v.value_or(0));
          }
        }
        if (req.include_metadata()) {
          v1::CellMetadata* md = resp->mutable_metadata();
          std::vector<Coordinate> readable;
          for (const Coordinate& c : coords) readable.push_back(c);
          QA_ASSIGN_OR_RETURN(std::vector<CellMarker> markers, ua.app->comments->Markers(readable));
          for (size_t i = 0; i < coords.size(); ++i) {
            const Coordinate& c = coords[i];
            const bool leaf = ua.model().IsLeaf(c);
            const bool can_read = ua.rights->CanRead(c);
            uint32_t flags = 0;
            if (can_read) {
              flags |= v1::CELL_FLAG_READABLE;
              if (ua.cube().IsHeld(ctx.user->name, c)) flags |= v1::CELL_FLAG_HELD;
              if (markers[i].has_comment) flags |= v1::CELL_FLAG_COMMENTED;
              if (!ua.cube().ReadOnlyReason(c).empty()) flags |= v1::CELL_FLAG_READ_ONLY;
            }
            if (ua.rights->CanWrite(c) && (leaf || ua.rights->WritesAllBelow(c)) && !(flags & v1::CELL_FLAG_READ_ONLY)) {
              flags |= v1::CELL_FLAG_WRITABLE;
            }
            if (!leaf) flags |= v1::CELL_FLAG_CONSOLIDATED;
            if (md->errors().count(static_cast<uint32_t>(i))) flags |= v1::CELL_FLAG_ERROR;
            md->add_flags(flags);
          }
          // Versions at any level: the newest change at or below the cell (Cube::NewestChangeUnder),
          // shown only where the user reads every leaf below (else a hidden leaf's change would
          // show through) and 0 elsewhere.
          std::vector<Coordinate> versioned;
          std::vector<size_t> where;
          for (size_t i = 0; i < coords.size(); ++i) {
            const Coordinate& c = coords[i];
            if (!ua.rights->CanRead(c)) continue;
            if (!(ua.model().IsLeaf(c) || ua.rights->admin() || ua.policy == TotalsPolicy::kIncludeHidden ||
                  ua.rights->ReadsAllBelow(c))) {
              continue;
            }
            versioned.push_back(c);
            where.push_back(i);
          }
          std::vector<uint64_t> versions = ua.cube().NewestChangeUnder(versioned);
          std::vector<uint64_t> all(coords.size(), 0);
          for (size_t k = 0; k < where.size(); ++k) all[where[k]] = versions[k];
          for (uint64_t v : all) md->add_versions(v);
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::ExportCellsRequest, v1::ExportCellsResponse>(
      "quantatom.v1.GridService.ExportCells",
      [=](CallContext& ctx, const v1::ExportCellsRequest& req, v1::ExportCellsResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate region, ToCoordinate(ua, req.region(), "region"));
        const AppModel& model = ua.model();
        const size_t dims = model.dimensions.size();
        const size_t limit = req.limit() == 0 ? 10'000'000 : req.limit();
        for (const Dimension& d : model.dimensions) resp->add_dimensions(d.name());
        std::vector<v1::MemberIdColumn*> cols;
        for (size_t d = 0; d < dims; ++d) cols.push_back(resp->add_columns());
        resp->set_seq(ua.cube().CurrentSeq());
        ua.cube().WithStore([&](const CellStore& store) {
          CellSelection sel = SelectCellsUnder(model, store, region);
          std::vector<uint32_t> ord(dims);
          Coordinate leaf(dims);
          auto emit = [&](uint64_t key, double value) {
            store.layout().Unpack(key, ord.data());
            for (size_t d = 0; d < dims; ++d) leaf[d] = model.dimensions[d].leaf_member(ord[d]);
            if (!ua.rights->CanRead(leaf)) return;
            if (static_cast<size_t>(resp->values_size()) >= limit) {
              resp->set_truncated(true);
              return;
            }
            for (size_t d = 0; d < dims; ++d) cols[d]->add_ids(leaf[d]);
            resp->add_values(value);
          };
          auto values = store.values();
          for (uint32_t pos : sel.main_positions) emit(store.MainKey(store.RunOf(pos), pos), values[pos]);
          for (uint64_t key : sel.delta_keys) emit(key, store.delta().at(key));
          return 0;
        });
        return absl::OkStatus();
      });
  live_ = std::make_unique<LiveGrids>(host, &server.broadcaster(), metrics, opts.rights_cache, read_opts);
  LiveGrids* live = live_.get();
  server.HandleDetachedStream(
      method("quantatom.v1.GridService.Subscribe"),
      [=](CallContext& ctx, const Message& msg, StreamTakeover& takeover) -> absl::Status {
        const auto& req = static_cast<const v1::SubscribeRequest&>(msg);
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.grid().app()));
        QA_ASSIGN_OR_RETURN(GridQuery q, ToGridQuery(ua, req.grid()));
        QA_ASSIGN_OR_RETURN(ResolvedGrid rg, ResolveGrid(ua.model(), q));
        // The leaves below the grid, per dimension.
        LeafRegion region = LeafRegion::Empty(ua.model());
        for (size_t d = 0; d < ua.model().dimensions.size(); ++d) {
          if (rg.fixed[d] != kNoMember) region.AddMember(ua.model(), d, rg.fixed[d]);
        }
        for (const Axis* axis : {&q.rows, &q.cols}) {
          for (const auto& t : axis->tuples)
            for (size_t i = 0; i < t.size(); ++i) region.AddMember(ua.model(), axis->dims[i], t[i]);
        }
        LiveGrids::Spec spec{ua.app, std::move(q), std::move(region), ctx.user, req.grid().SerializeAsString()};
        live->Add(std::move(spec), takeover.Take());
        return absl::OkStatus();
      });

  // ---------------- WriteService
  unary.operator()<v1::WriteCellsRequest, v1::ChangeSummary>(
      "quantatom.v1.WriteService.WriteCells",
      [=](CallContext& ctx, const v1::WriteCellsRequest& req, v1::ChangeSummary* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        if (req.cells_size() == 0) return absl::InvalidArgumentError("no cells to write");
        std::vector<VersionedWrite> batch;
        batch.reserve(req.cells_size());
        for (int i = 0; i < req.cells_size(); ++i) {
          const v1::CellInput& in = req.cells(i);
          std::string what = StrCat("cell ", i + 1);
          QA_ASSIGN_OR_RETURN(Coordinate c, ToCoordinate(ua, in.coordinate(), what));
          QA_RETURN_IF_ERROR(ua.cube().CheckCoordinate(c, /*leaf_only=*/true));
          if (!ua.rights->CanWrite(c)) {
            return absl::PermissionDeniedError(StrCat(what, " (", ua.model().FormatCoordinate(c), "): you may not write this cell"));
          }
          QA_ASSIGN_OR_RETURN(CellValue v, ToValue(in.value(), what));
          batch.push_back({ua.cube().PackLeaf(c), std::move(v),
                           in.seen_version() == 0 ? std::numeric_limits<uint64_t>::max() : in.seen_version()});
        }
        if (!req.sandbox().empty()) {
          // Into the caller's sandbox: the same checks, no versions (the commit checks them).
          std::vector<CellWrite> writes;
          for (int i = 0; i < req.cells_size(); ++i) {
            Coordinate c(ua.model().dimensions.size());
            const KeyLayout& layout = ua.cube().layout();
            for (size_t d = 0; d < c.size(); ++d) c[d] = ua.model().dimensions[d].leaf_member(layout.Get(batch[i].key, d));
            writes.push_back({std::move(c), std::move(batch[i].value)});
          }
          QA_RETURN_IF_ERROR(host->ChangeSandbox(*ua.app, ctx.user->name, req.sandbox(),
                                                 [&](Sandbox& box) { return box.Write(writes); }));
          resp->set_cells_changed(writes.size());
          resp->set_seq(ua.cube().CurrentSeq());
          return absl::OkStatus();
        }
        const ConflictPolicy policy = PolicyOf(req.conflict_policy());
        QA_ASSIGN_OR_RETURN(Committed c, host->WriteVersioned(*ua.app, ctx.user->name, batch, policy));
        FromCommitted(ua, c, resp);
        return absl::OkStatus();
      });
  unary.operator()<v1::BulkWriteRequest, v1::ChangeSummary>(
      "quantatom.v1.WriteService.BulkWrite",
      [=](CallContext& ctx, const v1::BulkWriteRequest& req, v1::ChangeSummary* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        const AppModel& model = ua.model();
        const size_t dims = model.dimensions.size();
        if (static_cast<size_t>(req.columns_size()) != dims) {
          return absl::InvalidArgumentError(StrCat("columns: ", req.columns_size(), " given, app '", req.app(), "' has ", dims, " dimensions"));
        }
        const size_t n = req.values_size();
        for (size_t d = 0; d < dims; ++d) {
          if (static_cast<size_t>(req.columns(d).ids_size()) != n) {
            return absl::InvalidArgumentError(StrCat("columns[", d, "] has ", req.columns(d).ids_size(), " ids, values has ", n));
          }
        }
        // On the large allocator: a bulk write of 1M cells is ~56 MB of writes, which fresh
        // 4 KiB pages would fault in one by one.
        LargeVector<VersionedWrite> batch(n);
        Coordinate c(dims);
        std::vector<uint32_t> ord(dims);
        for (size_t i = 0; i < n; ++i) {
          for (size_t d = 0; d < dims; ++d) {
            uint32_t id = req.columns(d).ids(i);
            const Dimension& dim = model.dimensions[d];
            if (id >= dim.member_count() || !dim.is_leaf(id) || !ua.rights->MemberVisible(d, id)) {
              return absl::InvalidArgumentError(StrCat("row ", i + 1, ": columns[", d, "] id ", id, " is not a leaf of '", dim.name(), "'"));
            }
            c[d] = id;
            ord[d] = dim.leaf_ordinal(id);
          }
          if (!ua.rights->CanWrite(c)) {
            return absl::PermissionDeniedError(StrCat("row ", i + 1, " (", model.FormatCoordinate(c), "): you may not write this cell"));
          }
          double v = req.values(i);
          batch[i].key = ua.cube().layout().Pack(ord.data());
          batch[i].value = std::isnan(v) ? CellValue::Empty() : CellValue::Number(v);
          batch[i].seen_seq = std::numeric_limits<uint64_t>::max();
        }
        QA_ASSIGN_OR_RETURN(Committed done, host->WriteVersioned(*ua.app, ctx.user->name, batch, ConflictPolicy::kAbort,
                                                                  "bulk write"));
        FromCommitted(ua, done, resp);
        return absl::OkStatus();
      });
  unary.operator()<v1::SpreadRequest, v1::ChangeSummary>(
      "quantatom.v1.WriteService.Spread", [=](CallContext& ctx, const v1::SpreadRequest& req, v1::ChangeSummary* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate target, ToCoordinate(ua, req.target(), "target"));
        if (!ua.rights->CanWrite(target) || !ua.rights->WritesAllBelow(target)) {
          return absl::PermissionDeniedError(StrCat("target (", ua.model().FormatCoordinate(target),
                                                    "): you may not write every cell below it"));
        }
        SpreadRequest sr;
        QA_ASSIGN_OR_RETURN(sr.method, ToSpreadMethod(req.method()));
        if (!std::isfinite(req.value())) return absl::InvalidArgumentError("value: not a finite number");
        sr.amount = req.value();
        sr.growth_percent = req.growth_percent();
        if (sr.method == SpreadMethod::kRelative) {
          QA_ASSIGN_OR_RETURN(Coordinate shape, ToCoordinate(ua, req.shape_from(), "shape_from"));
          if (!ua.rights->ReadsAllBelow(shape)) {
            return absl::PermissionDeniedError("shape_from: you may not read every cell below it");
          }
          for (size_t d = 0; d < shape.size(); ++d)
            if (shape[d] != target[d]) sr.basis.push_back({d, shape[d]});
        }
        std::vector<Coordinate> holds;
        for (int i = 0; i < req.holds_size(); ++i) {
          QA_ASSIGN_OR_RETURN(Coordinate h, ToCoordinate(ua, req.holds(i), StrCat("holds[", i, "]")));
          holds.push_back(std::move(h));
        }
        if (!req.sandbox().empty()) {
          size_t changed = 0;
          QA_RETURN_IF_ERROR(host->ChangeSandbox(*ua.app, ctx.user->name, req.sandbox(), [&](Sandbox& box) -> absl::Status {
            QA_ASSIGN_OR_RETURN(changed, box.Spread(target, sr, holds));
            return absl::OkStatus();
          }));
          resp->set_cells_changed(changed);
          resp->set_seq(ua.cube().CurrentSeq());
          return absl::OkStatus();
        }
        QA_ASSIGN_OR_RETURN(Committed c, host->Spread(*ua.app, ctx.user->name, target, sr, holds, req.seen_version()));
        FromCommitted(ua, c, resp);
        return absl::OkStatus();
      });
  for (bool redo : {false, true}) {
    unary.operator()<v1::UndoRequest, v1::ChangeSummary>(
        redo ? "quantatom.v1.WriteService.Redo" : "quantatom.v1.WriteService.Undo",
        [=](CallContext& ctx, const v1::UndoRequest& req, v1::ChangeSummary* resp) {
          QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
          QA_ASSIGN_OR_RETURN(Committed c, host->Undo(*ua.app, ctx.user->name, redo));
          FromCommitted(ua, c, resp);
          return absl::OkStatus();
        });
  }

  // ---------------- PlanningService
  unary.operator()<v1::SetHoldRequest, v1::SetHoldResponse>(
      "quantatom.v1.PlanningService.SetHold", [=](CallContext& ctx, const v1::SetHoldRequest& req, v1::SetHoldResponse*) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate c, ToCoordinate(ua, req.coordinate(), "coordinate"));
        return host->SetHold(*ua.app, ctx.user->name, c, req.held());
      });
  unary.operator()<v1::ListHoldsRequest, v1::ListHoldsResponse>(
      "quantatom.v1.PlanningService.ListHolds",
      [=](CallContext& ctx, const v1::ListHoldsRequest& req, v1::ListHoldsResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        for (const Coordinate& c : ua.cube().Holds(ctx.user->name)) FromCoordinate(ua.model(), c, resp->add_holds());
        return absl::OkStatus();
      });
  unary.operator()<v1::SetTargetRequest, v1::SetTargetResponse>(
      "quantatom.v1.PlanningService.SetTarget",
      [=](CallContext& ctx, const v1::SetTargetRequest& req, v1::SetTargetResponse*) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate c, ToCoordinate(ua, req.target().coordinate(), "target.coordinate"));
        if (!ua.rights->CanWrite(c) || !ua.rights->WritesAllBelow(c)) {
          return absl::PermissionDeniedError("target: you may not write every cell below it");
        }
        Target t{c, req.target().value(), GuidanceMethod::kProportional, kNoMember};
        if (!req.target().method().empty()) {
          QA_ASSIGN_OR_RETURN(t.method, ParseGuidanceMethod(req.target().method()));
        }
        return host->SetTarget(*ua.app, ctx.user->name, t);
      });
  unary.operator()<v1::RemoveTargetRequest, v1::SetTargetResponse>(
      "quantatom.v1.PlanningService.RemoveTarget",
      [=](CallContext& ctx, const v1::RemoveTargetRequest& req, v1::SetTargetResponse*) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate c, ToCoordinate(ua, req.coordinate(), "coordinate"));
        if (!ua.rights->CanWrite(c) || !ua.rights->WritesAllBelow(c)) {
          return absl::PermissionDeniedError("coordinate: you may not write every cell below it");
        }
        return host->RemoveTarget(*ua.app, ctx.user->name, c);
      });
  unary.operator()<v1::ListTargetsRequest, v1::ListTargetsResponse>(
      "quantatom.v1.PlanningService.ListTargets",
      [=](CallContext& ctx, const v1::ListTargetsRequest& req, v1::ListTargetsResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        if (!ua.app->targets) return absl::OkStatus();
        for (const Target& t : ua.app->targets->List()) {
          if (!ua.rights->CanRead(t.coord)) continue;
          v1::TargetEntry* e = resp->add_targets();
          FromCoordinate(ua.model(), t.coord, e->mutable_coordinate());
          e->set_value(t.value);
          e->set_method(std::string(GuidanceMethodName(t.method)));
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::GetVarianceRequest, v1::GetVarianceResponse>(
      "quantatom.v1.PlanningService.GetVariance",
      [=](CallContext& ctx, const v1::GetVarianceRequest& req, v1::GetVarianceResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate c, ToCoordinate(ua, req.coordinate(), "coordinate"));
        if (!ua.app->targets) return absl::FailedPreconditionError("this app has no scenario dimension with Budget and Actual");
        if (!ua.rights->admin() && ua.policy != TotalsPolicy::kIncludeHidden) {
          // Plan, actual and target rows of the coordinate, and its children: all must be readable.
          Coordinate probe = c;
          probe[ua.app->targets->config().scenario_dim] = ua.model().dimensions[ua.app->targets->config().scenario_dim].roots()[0];
          bool ok = ua.rights->CanRead(c);
          for (MemberId s : {ua.app->targets->config().plan, ua.app->targets->config().actual}) {
            Coordinate x = c;
            x[ua.app->targets->config().scenario_dim] = s;
            ok = ok && ua.rights->ReadsAllBelow(x) && ua.rights->CanRead(x);
          }
          if (!ok) return absl::PermissionDeniedError("variances need read access to every plan and actual cell below the coordinate");
        }
        QA_ASSIGN_OR_RETURN(LayerValues lv, ua.app->targets->Layers(c));
        FromLayers(lv, resp->mutable_values());
        VarianceKind kind = VarianceKind::kActualVsPlan;
        if (req.kind() == "plan_vs_target") kind = VarianceKind::kPlanVsTarget;
        else if (req.kind() == "actual_vs_target") kind = VarianceKind::kActualVsTarget;
        else if (!req.kind().empty() && req.kind() != "actual_vs_plan")
          return absl::InvalidArgumentError(StrCat("kind '", req.kind(), "': use actual_vs_plan, plan_vs_target or actual_vs_target"));
        if (req.top() > 0) {
          QA_ASSIGN_OR_RETURN(std::vector<Contributor> top, ua.app->targets->TopContributors(c, kind, -1, req.top()));
          for (const Contributor& t : top) {
            v1::Contributor* pc = resp->add_contributors();
            pc->set_dimension(ua.model().dimensions[t.dim].name());
            pc->set_member(ua.model().dimensions[t.dim].member(t.member).code);
            FromLayers(t.values, pc->mutable_values());
            FromVariance(t.variance, pc->mutable_variance());
          }
        }
        return absl::OkStatus();
      });

  // ---------------- CommentService
  unary.operator()<v1::AddCommentRequest, v1::Comment>(
      "quantatom.v1.CommentService.AddComment", [=](CallContext& ctx, const v1::AddCommentRequest& req, v1::Comment* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(Coordinate c, ToCoordinate(ua, req.coordinate(), "coordinate"));
        if (!ua.rights->CanRead(c)) return absl::PermissionDeniedError("coordinate: you may not read this cell");
        if (req.has_adjust() && !(ua.rights->CanWrite(c) && ua.rights->WritesAllBelow(c))) {
          return absl::PermissionDeniedError("an adjustment needs write access to every cell below the coordinate");
        }
        if (req.parent() != 0) {
          auto parent = ua.app->comments->Get(static_cast<CommentId>(req.parent()));
          if (!parent.ok() || !ua.rights->CanRead(parent->coordinate)) {
            return absl::NotFoundError(StrCat("no comment ", req.parent()));
          }
        }
        NewComment nc{ctx.user->name, NowMs(), req.text(), std::nullopt};
        if (req.has_adjust()) nc.adjustment = req.adjust();
        QA_ASSIGN_OR_RETURN(CommentId id, host->AddComment(*ua.app, ctx.user->name, c, static_cast<CommentId>(req.parent()), nc));
        QA_ASSIGN_OR_RETURN(Comment stored, ua.app->comments->Get(id));
        FromComment(ua.model(), stored, resp);
        return absl::OkStatus();
      });
  unary.operator()<v1::ListCommentsRequest, v1::ListCommentsResponse>(
      "quantatom.v1.CommentService.ListComments",
      [=](CallContext& ctx, const v1::ListCommentsRequest& req, v1::ListCommentsResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        Coordinate region;
        if (req.has_coordinate()) {
          QA_ASSIGN_OR_RETURN(region, ToCoordinate(ua, req.coordinate(), "coordinate"));
        } else {
          for (const Dimension& d : ua.model().dimensions) {
            if (d.roots().size() != 1) return absl::InvalidArgumentError(StrCat("coordinate: dimension '", d.name(), "' has several roots; name one"));
            region.push_back(d.roots()[0]);
          }
        }
        const size_t limit = req.limit() == 0 ? 1000 : req.limit();
        std::optional<ListCursor> cursor;
        // Pages until `limit` readable comments are found or the list ends.
        while (static_cast<size_t>(resp->comments_size()) < limit) {
          QA_ASSIGN_OR_RETURN(CommentPage page, ua.app->comments->ListUnder(region, 1000, cursor));
          for (const Comment& c : page.comments) {
            if (!ua.rights->CanRead(c.coordinate) || static_cast<size_t>(resp->comments_size()) >= limit) continue;
            FromComment(ua.model(), c, resp->add_comments());
          }
          if (!page.next) break;
          cursor = page.next;
        }
        return absl::OkStatus();
      });

  // ---------------- SandboxService
  auto sandbox_info = [](const std::string& app, const SandboxSummary& s, v1::SandboxInfo* out) {
    out->set_app(app);
    out->set_name(s.name);
    out->set_owner(s.owner);
    out->set_base_seq(s.base_seq);
    out->set_cells(s.cells);
    out->set_replica(s.replica);
    for (const auto& [replica, counter] : s.clock.entries()) (*out->mutable_clock())[replica] = counter;
  };
  unary.operator()<v1::SandboxRequest, v1::SandboxInfo>(
      "quantatom.v1.SandboxService.CreateSandbox", [=](CallContext& ctx, const v1::SandboxRequest& req, v1::SandboxInfo* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(SandboxSummary s, host->CreateSandbox(*ua.app, ctx.user->name, req.name()));
        sandbox_info(req.app(), s, resp);
        return absl::OkStatus();
      });
  unary.operator()<v1::ListSandboxesRequest, v1::ListSandboxesResponse>(
      "quantatom.v1.SandboxService.ListSandboxes",
      [=](CallContext& ctx, const v1::ListSandboxesRequest& req, v1::ListSandboxesResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        for (const SandboxSummary& s : host->ListSandboxes(*ua.app, ctx.user->name)) {
          sandbox_info(req.app(), s, resp->add_sandboxes());
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::CommitSandboxRequest, v1::ChangeSummary>(
      "quantatom.v1.SandboxService.CommitSandbox",
      [=](CallContext& ctx, const v1::CommitSandboxRequest& req, v1::ChangeSummary* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        const ConflictPolicy policy = PolicyOf(req.conflict_policy());
        // The rights now, not when the cells were written into the sandbox.
        QA_ASSIGN_OR_RETURN(auto box, host->FindSandbox(*ua.app, ctx.user->name, req.name()));
        QA_ASSIGN_OR_RETURN(std::vector<WriteConflict> preview, box->Conflicts());
        (void)preview;
        QA_RETURN_IF_ERROR(CheckSandboxWritable(*box, ua));
        QA_ASSIGN_OR_RETURN(Committed c, host->CommitSandbox(*ua.app, ctx.user->name, req.name(), policy));
        FromCommitted(ua, c, resp);
        return absl::OkStatus();
      });
  unary.operator()<v1::MergeSandboxRequest, v1::MergeSandboxResponse>(
      "quantatom.v1.SandboxService.MergeSandbox",
      [=](CallContext& ctx, const v1::MergeSandboxRequest& req, v1::MergeSandboxResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(SandboxMerged m, host->MergeSandbox(*ua.app, ctx.user->name, req.name(), req.from(),
                                                                PolicyOf(req.conflict_policy())));
        sandbox_info(req.app(), m.into, resp->mutable_sandbox());
        resp->set_cells_written(m.merge.written);
        resp->set_superseded(m.merge.superseded);
        // The same conflict reporting as a commit (values the caller may not read left unset).
        Committed c;
        c.conflicts = std::move(m.merge.conflicts);
        v1::ChangeSummary summary;
        FromCommitted(ua, c, &summary);
        *resp->mutable_conflicts() = std::move(*summary.mutable_conflicts());
        return absl::OkStatus();
      });
  unary.operator()<v1::SandboxRequest, v1::SandboxInfo>(
      "quantatom.v1.SandboxService.DiscardSandbox", [=](CallContext& ctx, const v1::SandboxRequest& req, v1::SandboxInfo* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(SandboxSummary s, host->DiscardSandbox(*ua.app, ctx.user->name, req.name()));
        sandbox_info(req.app(), s, resp);
        return absl::OkStatus();
      });

  // ---------------- Bridges
  unary.operator()<v1::ListBridgesRequest, v1::ListBridgesResponse>(
      "quantatom.v1.PlanningService.ListBridges",
      [=](CallContext& ctx, const v1::ListBridgesRequest& req, v1::ListBridgesResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        for (const BridgeSummary& b : host->ListBridges(req.app())) {
          // Only bridges between apps the caller may see.
          if (!open(ctx, b.source_app).ok() || !open(ctx, b.target_app).ok()) continue;
          v1::BridgeInfo* info = resp->add_bridges();
          info->set_source_app(b.source_app);
          info->set_target_app(b.target_app);
          info->set_source_dimension(b.source_dimension);
          info->set_target_dimension(b.target_dimension);
          info->set_rules(b.rules);
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::RunBridgeRequest, v1::RunBridgeResponse>(
      "quantatom.v1.PlanningService.RunBridge",
      [=](CallContext& ctx, const v1::RunBridgeRequest& req, v1::RunBridgeResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp source, open(ctx, req.source_app()));
        QA_ASSIGN_OR_RETURN(UserApp target, open(ctx, req.target_app()));
        QA_ASSIGN_OR_RETURN(BridgeRules rules, ParseBridgeRules("rules_csv", req.rules_csv()));
        QA_ASSIGN_OR_RETURN(BridgeRun run, host->RunBridge(*source.app, *target.app, ctx.user->name, req.source_dimension(),
                                                            req.target_dimension(), rules));
        FromCommitted(target, run.committed, resp->mutable_summary());
        resp->set_unmapped_leaves(run.report.unmapped.size());
        resp->set_overmapped_leaves(run.report.over_mapped.size());
        return absl::OkStatus();
      });

  // ---------------- AuditService
  unary.operator()<v1::QueryAuditRequest, v1::QueryAuditResponse>(
      "quantatom.v1.AuditService.QueryAudit",
      [=](CallContext& ctx, const v1::QueryAuditRequest& req, v1::QueryAuditResponse* resp) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        std::optional<Coordinate> region;
        if (req.has_region()) {
          QA_ASSIGN_OR_RETURN(region, ToCoordinate(ua, req.region(), "region"));
        }
        const AppModel& model = ua.model();
        const size_t limit = req.limit() == 0 ? 100 : req.limit();
        audit::AuditQuery query;
        query.user = req.user();
        // The index's time range (microseconds, inclusive), from the request's milliseconds.
        if (req.from_unix_millis() != 0) query.since_us = req.from_unix_millis() * 1000;
        if (req.to_unix_millis() != 0) query.until_us = req.to_unix_millis() * 1000 + 999;
        // A single cell: its own posting list in the index.
        if (region && model.IsLeaf(*region)) query.coordinate = model.FormatCoordinate(*region);
        auto in_region = [&](const audit::AuditEntry& e) {
          if (!region) return true;
          auto c = model.ParseCoordinate(e.coordinate);
          if (!c.ok()) return false;
          for (size_t d = 0; d < c->size(); ++d)
            if (!model.dimensions[d].IsAncestorOrSelf((*region)[d], (*c)[d])) return false;
          return true;
        };
        // The hash-chained trail of the durable layer and the change sets logged since its last
        // checkpoint, through the trail's index (server/audit_source.h): newest sets first.
        QA_ASSIGN_OR_RETURN(auto sets, ua.app->audit->NewestSets(query, in_region, req.after_seq(), limit));
        for (const std::vector<audit::AuditEntry>& set : sets) {
          v1::AuditEntry* entry = resp->add_entries();
          const uint64_t seq = set.front().log_seq;
          entry->set_change_set(seq);
          entry->set_seq(seq);
          entry->set_user(set.front().user);
          entry->set_action(set.front().cause);
          entry->set_unix_millis(set.front().time_us / 1000);
          size_t shown = 0;
          for (const audit::AuditEntry& e : set) {
            auto c = model.ParseCoordinate(e.coordinate);
            if (!c.ok()) continue;
            if (!ua.rights->CanRead(*c)) {
              entry->set_hidden_cells(entry->hidden_cells() + 1);
              continue;
            }
            if (shown++ >= 1000) continue;  // the first 1,000 cells of a set
            v1::AuditCell* cell = entry->add_cells();
            FromCoordinate(model, *c, cell->mutable_coordinate());
            FromValue(e.before, cell->mutable_old_value());
            FromValue(e.after, cell->mutable_new_value());
          }
        }
        return absl::OkStatus();
      });

  // ---------------- AdminService
  unary.operator()<v1::WhoAmIRequest, v1::WhoAmIResponse>(
      "quantatom.v1.AdminService.WhoAmI", [=](CallContext& ctx, const v1::WhoAmIRequest&, v1::WhoAmIResponse* resp) {
        resp->set_user(ctx.user->name);
        for (const auto& r : ctx.user->roles) resp->add_roles(r);
        resp->set_admin(ctx.user->admin);
        return absl::OkStatus();
      });
  unary.operator()<v1::CreateUserRequest, v1::User>(
      "quantatom.v1.AdminService.CreateUser", [=](CallContext&, const v1::CreateUserRequest& req, v1::User* resp) {
        User u{req.user().name(), {req.user().roles().begin(), req.user().roles().end()}, req.user().admin()};
        QA_RETURN_IF_ERROR(tokens->CreateUser(u));
        *resp = req.user();
        return absl::OkStatus();
      });
  unary.operator()<v1::ListUsersRequest, v1::ListUsersResponse>(
      "quantatom.v1.AdminService.ListUsers", [=](CallContext&, const v1::ListUsersRequest&, v1::ListUsersResponse* resp) {
        for (const User& u : tokens->Users()) {
          v1::User* pu = resp->add_users();
          pu->set_name(u.name);
          for (const auto& r : u.roles) pu->add_roles(r);
          pu->set_admin(u.admin);
        }
        return absl::OkStatus();
      });
  unary.operator()<v1::IssueTokenRequest, v1::IssueTokenResponse>(
      "quantatom.v1.AdminService.IssueToken",
      [=](CallContext&, const v1::IssueTokenRequest& req, v1::IssueTokenResponse* resp) {
        QA_ASSIGN_OR_RETURN(auto t, tokens->IssueToken(req.user()));
        resp->set_token(t.first);
        resp->set_token_id(t.second);
        return absl::OkStatus();
      });
  unary.operator()<v1::RevokeTokenRequest, v1::RevokeTokenResponse>(
      "quantatom.v1.AdminService.RevokeToken",
      [=](CallContext&, const v1::RevokeTokenRequest& req, v1::RevokeTokenResponse*) {
        return tokens->RevokeToken(req.token_id());
      });
  unary.operator()<v1::SetMemberRightsRequest, v1::SetMemberRightsResponse>(
      "quantatom.v1.AdminService.SetMemberRights",
      [=](CallContext& ctx, const v1::SetMemberRightsRequest& req, v1::SetMemberRightsResponse*) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        QA_ASSIGN_OR_RETURN(int d, FindDim(ua, req.dimension()));
        DimensionRule rule;
        rule.default_access = static_cast<Access>(req.default_access());
        for (const v1::MemberRight& r : req.rights()) {
          QA_ASSIGN_OR_RETURN(MemberId m, FindMember(ua, d, r.member()));
          if (!v1::Access_IsValid(r.access())) return absl::InvalidArgumentError("unknown access");
          rule.members.push_back({m, static_cast<Access>(r.access())});
        }
        return host->SetRule(*ua.app, ctx.user->name, req.role(), d, std::move(rule));
      });
  unary.operator()<v1::SetTotalsPolicyRequest, v1::SetTotalsPolicyResponse>(
      "quantatom.v1.AdminService.SetTotalsPolicy",
      [=](CallContext& ctx, const v1::SetTotalsPolicyRequest& req, v1::SetTotalsPolicyResponse*) {
        QA_ASSIGN_OR_RETURN(UserApp ua, open(ctx, req.app()));
        if (!v1::TotalsPolicy_IsValid(req.policy())) return absl::InvalidArgumentError("unknown totals policy");
        return host->SetTotalsPolicy(*ua.app, ctx.user->name, static_cast<TotalsPolicy>(req.policy()));
      });
}

}  // namespace quantatom
