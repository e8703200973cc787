// EncodeTargetLayer / DecodeTargetLayer: the byte format of docs/formats/targets.md.
#include <cmath>
#include <cstring>

#include "base/byte_codec.h"
#include "base/file_util.h"
#include "base/strings.h"
#include "targets/target_layer.h"

namespace quantatom {

namespace {

constexpr char kMagic[4] = {'Q', 'A', 'T', 'G'};
constexpr uint16_t kVersion = 1;
constexpr uint32_t kMaxTargets = 1u << 24;

}  // namespace

std::string EncodeTargetLayer(const TargetLayer& layer) {
  const AppModel& model = layer.model();
  const TargetsConfig& config = layer.config();
  ByteWriter w;
  w.PutBytes(std::string_view(kMagic, 4));
  w.Put(kVersion);
  w.Put(uint16_t{0});
  w.Put(static_cast<uint32_t>(model.dimensions.size()));
  for (const Dimension& dim : model.dimensions) w.PutString<uint16_t>(dim.name());
  const bool scen = config.scenario_dim >= 0;
  const Dimension* sd = scen ? &model.dimensions[config.scenario_dim] : nullptr;
  auto code = [&](MemberId id) -> std::string_view {
    if (!sd || id == kNoMember) return {};
    return sd->member(id).code;
  };
  w.PutString<uint16_t>(scen ? std::string_view(sd->name()) : std::string_view());
  w.PutString<uint16_t>(code(config.plan));
  w.PutString<uint16_t>(code(config.actual));
  w.Put(static_cast<uint32_t>(layer.targets().size()));
  for (const Target& t : layer.targets()) {
    for (size_t d = 0; d < t.coord.size(); ++d) w.PutString<uint16_t>(model.dimensions[d].member(t.coord[d]).code);
    w.Put(t.value);
    w.Put(static_cast<uint8_t>(t.method));
    w.PutString<uint16_t>(code(t.basis));
  }
  w.Put(Checksum64(w.bytes().data(), w.size()));
  return w.Take();
}

absl::StatusOr<TargetLayer> DecodeTargetLayer(const AppModel* model, std::string_view bytes) {
  if (bytes.size() < 4 + 2 + 2 + 8 || std::memcmp(bytes.data(), kMagic, 4) != 0)
    return absl::DataLossError("targets: not a targets layer (bad magic or too short)");
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  const std::string_view body = bytes.substr(0, bytes.size() - 8);
  if (Checksum64(body.data(), body.size()) != stored) return absl::DataLossError("targets: checksum mismatch");
  // Offsets in errors count from the start of the layer.
  ByteReader r(body, "targets");
  std::string_view magic;
  QA_RETURN_IF_ERROR(r.GetBytes(4, &magic));
  uint16_t version = 0, reserved = 0;
  QA_RETURN_IF_ERROR(r.Get(&version, "version"));
  QA_RETURN_IF_ERROR(r.Get(&reserved, "reserved"));
  if (version != kVersion)
    return absl::DataLossError(StrCat("targets: format version ", version, " is not supported (this build reads ", kVersion, ")"));
  uint32_t dims = 0;
  QA_RETURN_IF_ERROR(r.Get(&dims, "dimension count"));
  if (dims != model->dimensions.size())
    return absl::FailedPreconditionError(
        StrCat("targets: written for ", dims, " dimensions, the app has ", model->dimensions.size()));
  for (uint32_t d = 0; d < dims; ++d) {
    std::string name;
    QA_RETURN_IF_ERROR(r.GetString<uint16_t>(&name, "dimension name"));
    if (name != model->dimensions[d].name())
      return absl::FailedPreconditionError(StrCat("targets: dimension ", d + 1, " is '", name, "', the app's is '",
                                                  model->dimensions[d].name(), "'"));
  }
  auto member = [&](size_t d, const std::string& code, MemberId* out) -> absl::Status {
    std::optional<MemberId> id = model->dimensions[d].Find(code);
    if (!id)
      return absl::FailedPreconditionError(
          StrCat("targets: no member '", code, "' in dimension '", model->dimensions[d].name(), "'"));
    *out = *id;
    return absl::OkStatus();
  };
  TargetsConfig config;
  std::string scen_name, plan, actual;
  QA_RETURN_IF_ERROR(r.GetString<uint16_t>(&scen_name, "scenario dimension"));
  QA_RETURN_IF_ERROR(r.GetString<uint16_t>(&plan, "plan member"));
  QA_RETURN_IF_ERROR(r.GetString<uint16_t>(&actual, "actual member"));
  if (!scen_name.empty()) {
    config.scenario_dim = model->FindDimension(scen_name);
    if (config.scenario_dim < 0)
      return absl::FailedPreconditionError(StrCat("targets: no dimension '", scen_name, "'"));
    if (!plan.empty()) QA_RETURN_IF_ERROR(member(config.scenario_dim, plan, &config.plan));
    if (!actual.empty()) QA_RETURN_IF_ERROR(member(config.scenario_dim, actual, &config.actual));
  }
  uint32_t count = 0;
  QA_RETURN_IF_ERROR(r.Get(&count, "target count"));
  // Each target takes at least 2 bytes per dimension + 11: a count the bytes cannot hold is
  // damage, and must not drive a huge allocation.
  if (count > kMaxTargets || count > r.remaining() / (2 * dims + 11))
    return absl::DataLossError(StrCat("targets: target count ", count, " does not fit the bytes"));
  TargetLayer layer(model, config);
  for (uint32_t i = 0; i < count; ++i) {
    Target t;
    t.coord.resize(dims);
    std::string code;
    for (uint32_t d = 0; d < dims; ++d) {
      QA_RETURN_IF_ERROR(r.GetString<uint16_t>(&code, "member code"));
      QA_RETURN_IF_ERROR(member(d, code, &t.coord[d]));
    }
    uint8_t method = 0;
    QA_RETURN_IF_ERROR(r.Get(&t.value, "value"));
    QA_RETURN_IF_ERROR(r.Get(&method, "method"));
    if (method > static_cast<uint8_t>(GuidanceMethod::kEqual))
      return absl::DataLossError(StrCat("targets: target ", i + 1, " has unknown method ", int{method}));
    t.method = static_cast<GuidanceMethod>(method);
    QA_RETURN_IF_ERROR(r.GetString<uint16_t>(&code, "basis"));
    if (!code.empty()) {
      if (config.scenario_dim < 0) return absl::DataLossError(StrCat("targets: target ", i + 1, " has a basis but no scenario dimension"));
      QA_RETURN_IF_ERROR(member(config.scenario_dim, code, &t.basis));
    }
    if (layer.Find(t.coord) >= 0) return absl::DataLossError(StrCat("targets: target ", i + 1, " repeats a coordinate"));
    absl::Status s = layer.Set(std::move(t));
    if (!s.ok()) return absl::Status(s.code(), StrCat("targets: target ", i + 1, ": ", std::string(s.message())));
  }
  if (r.remaining() != 0) return absl::DataLossError(StrCat("targets: ", r.remaining(), " unexpected bytes at the end"));
  return layer;
}

}  // namespace quantatom
