// EncodeTargetLayer / DecodeTargetLayer: the byte format of docs/formats/targets.md.
#include <bit>
#include <cmath>
#include <cstring>

#include "base/file_util.h"
#include "base/strings.h"
#include "targets/target_layer.h"

namespace quantatom {

namespace {

static_assert(std::endian::native == std::endian::little, "the targets format is little-endian");

constexpr char kMagic[4] = {'Q', 'A', 'T', 'G'};
constexpr uint16_t kVersion = 1;
constexpr uint32_t kMaxTargets = 1u << 24;

class Writer {
 public:
  template <typename T>
  void Put(T v) {
    out_.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void PutString(std::string_view s) {
    Put(static_cast<uint16_t>(s.size()));
    out_.append(s);
  }
  std::string Finish() {
    Put(Checksum64(out_.data(), out_.size()));
    return std::move(out_);
  }
  std::string out_;
};

// Every read checks the bytes left, so truncated or garbled input ends in DataLoss, never
// reads past the end.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}
  template <typename T>
  absl::Status Get(T* v, std::string_view what) {
    if (bytes_.size() - pos_ < sizeof(T)) return Truncated(what);
    std::memcpy(v, bytes_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return absl::OkStatus();
  }
  absl::Status GetString(std::string* s, std::string_view what) {
    uint16_t n = 0;
    QA_RETURN_IF_ERROR(Get(&n, what));
    if (bytes_.size() - pos_ < n) return Truncated(what);
    s->assign(bytes_.data() + pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }
  size_t remaining() const { return bytes_.size() - pos_; }

 private:
  absl::Status Truncated(std::string_view what) const {
    return absl::DataLossError(StrCat("targets: truncated at byte ", pos_, " (reading ", what, ")"));
  }
  std::string_view bytes_;
  size_t pos_ = 0;
};

}  // namespace

std::string EncodeTargetLayer(const TargetLayer& layer) {
  const AppModel& model = layer.model();
  const TargetsConfig& config = layer.config();
  Writer w;
  w.out_.append(kMagic, 4);
  w.Put(kVersion);
  w.Put(uint16_t{0});
  w.Put(static_cast<uint32_t>(model.dimensions.size()));
  for (const Dimension& dim : model.dimensions) w.PutString(dim.name());
  const bool scen = config.scenario_dim >= 0;
  const Dimension* sd = scen ? &model.dimensions[config.scenario_dim] : nullptr;
  auto code = [&](MemberId id) -> std::string_view {
    if (!sd || id == kNoMember) return {};
    return sd->member(id).code;
  };
  w.PutString(scen ? std::string_view(sd->name()) : std::string_view());
  w.PutString(code(config.plan));
  w.PutString(code(config.actual));
  w.Put(static_cast<uint32_t>(layer.targets().size()));
  for (const Target& t : layer.targets()) {
    for (size_t d = 0; d < t.coord.size(); ++d) w.PutString(model.dimensions[d].member(t.coord[d]).code);
    w.Put(t.value);
    w.Put(static_cast<uint8_t>(t.method));
    w.PutString(code(t.basis));
  }
  return w.Finish();
}

absl::StatusOr<TargetLayer> DecodeTargetLayer(const AppModel* model, std::string_view bytes) {
  if (bytes.size() < 4 + 2 + 2 + 8 || std::memcmp(bytes.data(), kMagic, 4) != 0)
    return absl::DataLossError("targets: not a targets layer (bad magic or too short)");
  uint64_t stored = 0;
  std::memcpy(&stored, bytes.data() + bytes.size() - 8, 8);
  const std::string_view body = bytes.substr(0, bytes.size() - 8);
  if (Checksum64(body.data(), body.size()) != stored) return absl::DataLossError("targets: checksum mismatch");
  Reader r(body.substr(4));
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
    QA_RETURN_IF_ERROR(r.GetString(&name, "dimension name"));
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
  QA_RETURN_IF_ERROR(r.GetString(&scen_name, "scenario dimension"));
  QA_RETURN_IF_ERROR(r.GetString(&plan, "plan member"));
  QA_RETURN_IF_ERROR(r.GetString(&actual, "actual member"));
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
      QA_RETURN_IF_ERROR(r.GetString(&code, "member code"));
      QA_RETURN_IF_ERROR(member(d, code, &t.coord[d]));
    }
    uint8_t method = 0;
    QA_RETURN_IF_ERROR(r.Get(&t.value, "value"));
    QA_RETURN_IF_ERROR(r.Get(&method, "method"));
    if (method > static_cast<uint8_t>(GuidanceMethod::kEqual))
      return absl::DataLossError(StrCat("targets: target ", i + 1, " has unknown method ", int{method}));
    t.method = static_cast<GuidanceMethod>(method);
    QA_RETURN_IF_ERROR(r.GetString(&code, "basis"));
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
