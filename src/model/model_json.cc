#include "model/model_json.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "base/file_util.h"
#include "base/strings.h"

namespace quantatom {

namespace {

using json = nlohmann::ordered_json;  // keeps attribute order on a round trip

// The path of `key` inside the object at `path`. Paths are plain ("app", "dimensions[0].name");
// the top-level object itself is "$", but its fields are named without it.
std::string FieldPath(const std::string& path, std::string_view key) {
  if (path == "$") return std::string(key);
  return StrCat(path, ".", key);
}

// Collects the JSON path of the value being read, for error messages.
class Reader {
 public:
  explicit Reader(std::string_view file) : file_(file) {}

  absl::Status Error(const std::string& path, std::string_view message) const {
    return absl::InvalidArgumentError(StrCat(file_, ": ", path, ": ", message));
  }
  absl::Status Wrap(const std::string& path, const absl::Status& s) const {
    return absl::Status(s.code(), StrCat(file_, ": ", path, ": ", s.message()));
  }

  absl::StatusOr<std::string> String(const json& obj, const std::string& path, const char* key, bool required) const {
    auto it = obj.find(key);
    if (it == obj.end()) {
      if (required) return Error(path, StrCat("missing field '", key, "'"));
      return std::string();
    }
    if (!it->is_string()) return Error(FieldPath(path, key), "expected a string");
    return it->get<std::string>();
  }

  absl::StatusOr<double> Number(const json& obj, const std::string& path, const char* key, double fallback) const {
    auto it = obj.find(key);
    if (it == obj.end()) return fallback;
    if (!it->is_number()) return Error(FieldPath(path, key), "expected a number");
    double v = it->get<double>();
    if (!std::isfinite(v)) return Error(FieldPath(path, key), "expected a finite number");
    return v;
  }

 private:
  std::string file_;
};

absl::Status CheckKeys(const Reader& r, const json& obj, const std::string& path,
                       std::initializer_list<std::string_view> allowed) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (std::string_view a : allowed) ok |= (it.key() == a);
    if (!ok) return r.Error(path, StrCat("unknown field '", it.key(), "'"));
  }
  return absl::OkStatus();
}

absl::StatusOr<Dimension> ParseDimension(const Reader& r, const json& jd, const std::string& path) {
  if (!jd.is_object()) return r.Error(path, "expected an object");
  QA_RETURN_IF_ERROR(CheckKeys(r, jd, path, {"name", "type", "members"}));
  QA_ASSIGN_OR_RETURN(std::string name, r.String(jd, path, "name", true));
  if (name.empty()) return r.Error(path + ".name", "dimension name is empty");
  QA_ASSIGN_OR_RETURN(std::string type_name, r.String(jd, path, "type", false));
  DimensionType type = DimensionType::kGeneric;
  if (!type_name.empty()) {
    auto t = ParseDimensionType(type_name);
    if (!t.ok()) return r.Wrap(path + ".type", t.status());
    type = *t;
  }
  auto members = jd.find("members");
  if (members == jd.end() || !members->is_array() || members->empty())
    return r.Error(path + ".members", "expected a non-empty array of members");

  DimensionBuilder builder(name, type);
  for (size_t i = 0; i < members->size(); ++i) {
    const json& jm = (*members)[i];
    std::string mp = StrCat(path, ".members[", i, "]");
    if (!jm.is_object()) return r.Error(mp, "expected an object");
    QA_RETURN_IF_ERROR(CheckKeys(r, jm, mp, {"code", "name", "parent", "weight", "parents", "attributes"}));
    QA_ASSIGN_OR_RETURN(std::string code, r.String(jm, mp, "code", true));
    QA_ASSIGN_OR_RETURN(std::string mname, r.String(jm, mp, "name", false));
    std::vector<std::pair<std::string, std::string>> attrs;
    if (auto a = jm.find("attributes"); a != jm.end()) {
      if (!a->is_object()) return r.Error(mp + ".attributes", "expected an object of strings");
      for (auto it = a->begin(); it != a->end(); ++it) {
        if (!it.value().is_string()) return r.Error(StrCat(mp, ".attributes.", it.key()), "expected a string");
        attrs.emplace_back(it.key(), it.value().get<std::string>());
      }
    }
    absl::Status s = builder.AddMember(code, mname, std::move(attrs));
    if (!s.ok()) return r.Wrap(mp + ".code", s);
  }
  // Edges after all members, so a parent may be listed after its children.
  for (size_t i = 0; i < members->size(); ++i) {
    const json& jm = (*members)[i];
    std::string mp = StrCat(path, ".members[", i, "]");
    std::string code = jm["code"].get<std::string>();
    if (jm.contains("parent") && jm.contains("parents"))
      return r.Error(mp, "give either 'parent' or 'parents', not both");
    if (jm.contains("weight") && !jm.contains("parent")) return r.Error(mp + ".weight", "'weight' needs 'parent'");
    if (jm.contains("parent")) {
      QA_ASSIGN_OR_RETURN(std::string parent, r.String(jm, mp, "parent", true));
      QA_ASSIGN_OR_RETURN(double w, r.Number(jm, mp, "weight", 1.0));
      absl::Status s = builder.AddEdge(code, parent, w);
      if (!s.ok()) return r.Wrap(mp + ".parent", s);
    }
    if (auto ps = jm.find("parents"); ps != jm.end()) {
      if (!ps->is_array()) return r.Error(mp + ".parents", "expected an array of {\"code\", \"weight\"}");
      for (size_t k = 0; k < ps->size(); ++k) {
        const json& jp = (*ps)[k];
        std::string pp = StrCat(mp, ".parents[", k, "]");
        if (!jp.is_object()) return r.Error(pp, "expected an object");
        QA_RETURN_IF_ERROR(CheckKeys(r, jp, pp, {"code", "weight"}));
        QA_ASSIGN_OR_RETURN(std::string parent, r.String(jp, pp, "code", true));
        QA_ASSIGN_OR_RETURN(double w, r.Number(jp, pp, "weight", 1.0));
        absl::Status s = builder.AddEdge(code, parent, w);
        if (!s.ok()) return r.Wrap(pp, s);
      }
    }
  }
  auto built = std::move(builder).Build();
  if (!built.ok()) return r.Wrap(path, built.status());
  return std::move(built).value();
}

absl::Status ParseCells(const Reader& r, const json& jc, ModelFile* out) {
  const AppModel& m = out->model;
  if (!jc.is_array()) return r.Error("cells", "expected an array");
  for (size_t i = 0; i < jc.size(); ++i) {
    const json& cell = jc[i];
    std::string cp = StrCat("cells[", i, "]");
    if (!cell.is_object()) return r.Error(cp, "expected an object");
    CellInput in;
    in.coord.assign(m.dimensions.size(), kNoMember);
    bool has_value = false;
    for (auto it = cell.begin(); it != cell.end(); ++it) {
      const std::string& key = it.key();
      if (key == "value" || key == "text") {
        if (has_value) return r.Error(cp, "give either 'value' or 'text', not both");
        has_value = true;
        if (key == "value") {
          if (!it.value().is_number()) return r.Error(cp + ".value", "expected a number");
          double v = it.value().get<double>();
          if (!std::isfinite(v)) return r.Error(cp + ".value", "expected a finite number");
          in.value = CellValue::Number(v);
        } else {
          if (!it.value().is_string()) return r.Error(cp + ".text", "expected a string");
          in.value = CellValue::Text(it.value().get<std::string>());
        }
        continue;
      }
      int d = m.FindDimension(key);
      if (d < 0) return r.Error(cp, StrCat("unknown dimension '", key, "'"));
      if (!it.value().is_string()) return r.Error(StrCat(cp, ".", key), "expected a member code");
      std::string code = it.value().get<std::string>();
      auto id = m.dimensions[d].Find(code);
      if (!id) return r.Error(StrCat(cp, ".", key), StrCat("unknown member '", code, "'"));
      if (!m.dimensions[d].is_leaf(*id))
        return r.Error(StrCat(cp, ".", key),
                       StrCat("member '", code, "' is consolidated; cells are stored at leaves"));
      in.coord[d] = *id;
    }
    if (!has_value) return r.Error(cp, "missing 'value' or 'text'");
    for (size_t d = 0; d < m.dimensions.size(); ++d)
      if (in.coord[d] == kNoMember)
        return r.Error(cp, StrCat("missing dimension '", m.dimensions[d].name(), "'"));
    out->cells.push_back(std::move(in));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ModelFile> ParseModelJson(std::string_view file_name, std::string_view text) {
  Reader r(file_name);
  json root;
  try {
    root = json::parse(text.begin(), text.end());
  } catch (const json::parse_error& e) {
    // Turn the byte offset into line:column.
    size_t byte = std::min<size_t>(e.byte ? e.byte - 1 : 0, text.size());
    int line = 1, col = 1;
    for (size_t i = 0; i < byte; ++i) {
      if (text[i] == '\n') ++line, col = 1;
      else ++col;
    }
    std::string what = e.what();
    if (auto p = what.find("parse error"); p != std::string::npos) what = what.substr(p);
    return absl::InvalidArgumentError(StrCat(file_name, ":", line, ":", col, ": JSON syntax error: ", what));
  }
  if (!root.is_object()) return r.Error("$", "expected a JSON object at the top level");
  QA_RETURN_IF_ERROR(CheckKeys(r, root, "$", {"app", "planning_type", "dimensions", "cells"}));
  ModelFile out;
  QA_ASSIGN_OR_RETURN(out.model.name, r.String(root, "$", "app", true));
  if (absl::Status s = ValidateAppName(out.model.name); !s.ok()) return r.Wrap("app", s);
  QA_ASSIGN_OR_RETURN(std::string pt, r.String(root, "$", "planning_type", false));
  if (!pt.empty()) {
    auto t = ParsePlanningType(pt);
    if (!t.ok()) return r.Wrap("planning_type", t.status());
    out.model.planning_type = *t;
  }
  auto dims = root.find("dimensions");
  if (dims == root.end() || !dims->is_array() || dims->empty())
    return r.Error("dimensions", "expected a non-empty array of dimensions");
  for (size_t i = 0; i < dims->size(); ++i) {
    QA_ASSIGN_OR_RETURN(Dimension d, ParseDimension(r, (*dims)[i], StrCat("dimensions[", i, "]")));
    if (out.model.FindDimension(d.name()) >= 0)
      return r.Error(StrCat("dimensions[", i, "].name"), StrCat("duplicate dimension '", d.name(), "'"));
    out.model.dimensions.push_back(std::move(d));
  }
  if (auto c = root.find("cells"); c != root.end()) QA_RETURN_IF_ERROR(ParseCells(r, *c, &out));
  return out;
}

absl::StatusOr<ModelFile> ReadModelJsonFile(const std::string& path) {
  QA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    return absl::InvalidArgumentError(StrCat(path, ": file is empty"));
  return ParseModelJson(path, text);
}

std::string ModelToJson(const AppModel& model) {
  json root;
  root["app"] = model.name;
  root["planning_type"] = std::string(PlanningTypeName(model.planning_type));
  json dims = json::array();
  for (const Dimension& d : model.dimensions) {
    json jd;
    jd["name"] = d.name();
    jd["type"] = std::string(DimensionTypeName(d.type()));
    json members = json::array();
    for (MemberId id = 0; id < d.member_count(); ++id) {
      const Member& m = d.member(id);
      json jm;
      jm["code"] = m.code;
      if (m.name != m.code) jm["name"] = m.name;
      auto parents = d.parent_edges(id);
      if (parents.size() == 1) {
        jm["parent"] = d.member(parents[0].parent).code;
        if (parents[0].weight != 1.0) jm["weight"] = parents[0].weight;
      } else if (parents.size() > 1) {
        json ps = json::array();
        for (const Edge& e : parents) ps.push_back({{"code", d.member(e.parent).code}, {"weight", e.weight}});
        jm["parents"] = ps;
      }
      if (!m.attributes.empty()) {
        json attrs = json::object();
        for (auto& [k, v] : m.attributes) attrs[k] = v;
        jm["attributes"] = attrs;
      }
      members.push_back(std::move(jm));
    }
    jd["members"] = std::move(members);
    dims.push_back(std::move(jd));
  }
  root["dimensions"] = std::move(dims);
  return root.dump(1);
}

}  // namespace quantatom
