#include "services/segmentation/segment_catalog.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/field_error.h"
#include "common/proto_time.h"
#include "services/segmentation/builtin/builtin_segments.h"
#include "services/segmentation/keys.h"

namespace steward::segmentation {
namespace {

constexpr std::size_t kMaxSegmentIdLength = 63;
constexpr std::size_t kMaxDisplayNameLength = 200;
constexpr std::size_t kMaxTextLength = 1000;

absl::Status CheckSegmentId(const std::string& id) {
  const bool ok = !id.empty() && id.size() <= kMaxSegmentIdLength &&
                  absl::ascii_islower(static_cast<unsigned char>(id[0])) &&
                  std::all_of(id.begin(), id.end(), [](char c) {
                    return absl::ascii_islower(static_cast<unsigned char>(c)) ||
                           absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '-';
                  });
  if (ok) return absl::OkStatus();
  if (IsBuiltInSegmentId(id)) {
    return FieldError("segment.segment_id",
                      absl::StrCat("\"", id, "\" is a built-in segment id; custom ids have no '/'"));
  }
  return FieldError("segment.segment_id", "must be 1 to 63 characters of [a-z0-9-], starting with a letter");
}

absl::Status CheckText(absl::string_view field, const std::string& text, std::size_t max) {
  if (text.size() > max) return FieldError(field, absl::StrCat("is longer than ", max, " characters"));
  return absl::OkStatus();
}

absl::Status NotFound(const std::string& segment_id) {
  return absl::NotFoundError(absl::StrCat("segment \"", segment_id, "\" not found"));
}

}  // namespace

bool IsBuiltInSegmentId(const std::string& id) { return id.find('/') != std::string::npos; }

const v1::Segment* CatalogSnapshot::Find(const std::string& segment_id) const {
  if (IsBuiltInSegmentId(segment_id)) {
    auto it =
        std::lower_bound(built_in.begin(), built_in.end(), segment_id,
                         [](const v1::Segment& s, const std::string& id) { return s.segment_id() < id; });
    return it != built_in.end() && it->segment_id() == segment_id ? &*it : nullptr;
  }
  auto it = std::lower_bound(
      custom.begin(), custom.end(), segment_id,
      [](const CustomSegment& s, const std::string& id) { return s.definition.segment_id() < id; });
  return it != custom.end() && it->definition.segment_id() == segment_id ? &it->definition : nullptr;
}

SegmentCatalog::SegmentCatalog(Store& store, const Clock& clock, const v1::SegmentationConfig& config)
    : store_(store), clock_(clock), built_in_(BuiltInSegments(config)) {}

absl::StatusOr<CompiledRule> SegmentCatalog::Validate(const v1::Segment& segment) const {
  if (absl::Status s = CheckSegmentId(segment.segment_id()); !s.ok()) return s;
  if (segment.display_name().empty()) return FieldError("segment.display_name", "is required");
  if (absl::Status s = CheckText("segment.display_name", segment.display_name(), kMaxDisplayNameLength);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckText("segment.description", segment.description(), kMaxTextLength); !s.ok())
    return s;
  if (absl::Status s = CheckText("segment.treatment", segment.treatment(), kMaxTextLength); !s.ok()) return s;
  if (!segment.has_rule()) return FieldError("segment.rule", "is required");
  return CompiledRule::Compile(segment.rule(), "segment.rule");
}

absl::Status SegmentCatalog::BumpVersion() {
  Write write;
  write.key = std::string(kCatalogVersionKey);
  absl::StatusOr<std::vector<bool>> put = store_.Put({&write, 1});
  return put.status();
}

absl::StatusOr<v1::Segment> SegmentCatalog::Create(const v1::Segment& requested) {
  absl::StatusOr<CompiledRule> rule = Validate(requested);
  if (!rule.ok()) return rule.status();
  auto existing = store_.IndexScan(std::string(kSegmentIndex), "", kMaxCustomSegments);
  if (!existing.ok()) return existing.status();
  if (static_cast<int>(existing->size()) >= kMaxCustomSegments) {
    return absl::ResourceExhaustedError(
        absl::StrCat("at most ", kMaxCustomSegments, " custom segments; delete one first"));
  }
  v1::Segment segment = requested;
  segment.set_built_in(false);
  const google::protobuf::Timestamp now = ToProtoTime(clock_.Now());
  *segment.mutable_create_time() = now;
  *segment.mutable_update_time() = now;
  Write write;
  write.key = SegmentKey(segment.segment_id());
  write.value = segment.SerializeAsString();
  write.expected_version = 0;
  auto put = store_.Put({&write, 1});
  if (!put.ok()) return put.status();
  if (!(*put)[0]) {
    return absl::AlreadyExistsError(absl::StrCat("segment \"", segment.segment_id(), "\" already exists"));
  }
  const std::string id = segment.segment_id();
  if (absl::Status s = store_.IndexAdd(std::string(kSegmentIndex), {&id, 1}); !s.ok()) return s;
  if (absl::Status s = BumpVersion(); !s.ok()) return s;
  return segment;
}

absl::StatusOr<v1::Segment> SegmentCatalog::Update(const v1::Segment& requested) {
  if (IsBuiltInSegmentId(requested.segment_id())) {
    return absl::FailedPreconditionError(
        absl::StrCat("segment \"", requested.segment_id(), "\" is built in and cannot be changed"));
  }
  absl::StatusOr<CompiledRule> rule = Validate(requested);
  if (!rule.ok()) return rule.status();
  const std::string key = SegmentKey(requested.segment_id());
  auto records = store_.Get({key});
  if (!records.ok()) return records.status();
  if (!(*records)[0].has_value()) return NotFound(requested.segment_id());
  v1::Segment stored;
  if (!stored.ParseFromString((*records)[0]->value)) {
    return absl::InternalError(absl::StrCat("segment record \"", key, "\" is corrupt"));
  }
  v1::Segment segment = requested;
  segment.set_built_in(false);
  *segment.mutable_create_time() = stored.create_time();
  *segment.mutable_update_time() = ToProtoTime(clock_.Now());
  Write write;
  write.key = key;
  write.value = segment.SerializeAsString();
  write.expected_version = (*records)[0]->version;
  auto put = store_.Put({&write, 1});
  if (!put.ok()) return put.status();
  if (!(*put)[0]) {
    return absl::AbortedError(
        absl::StrCat("segment \"", segment.segment_id(), "\" changed while it was being updated; retry"));
  }
  if (absl::Status s = BumpVersion(); !s.ok()) return s;
  return segment;
}

absl::Status SegmentCatalog::Delete(const std::string& segment_id) {
  if (IsBuiltInSegmentId(segment_id)) {
    return absl::FailedPreconditionError(
        absl::StrCat("segment \"", segment_id, "\" is built in and cannot be deleted"));
  }
  const std::string key = SegmentKey(segment_id);
  auto records = store_.Get({key});
  if (!records.ok()) return records.status();
  if (!(*records)[0].has_value()) return NotFound(segment_id);
  if (absl::Status s = store_.Delete({&key, 1}); !s.ok()) return s;
  if (absl::Status s = store_.IndexRemove(std::string(kSegmentIndex), {&segment_id, 1}); !s.ok()) return s;
  return BumpVersion();
}

absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> SegmentCatalog::Current() {
  const std::string version_key(kCatalogVersionKey);
  uint64_t version = 0;
  if (std::optional<std::vector<Record>> local = store_.TryGetLocal({&version_key, 1}); local.has_value()) {
    version = (*local)[0].version;
  } else {
    auto read = store_.GetAndTrack({&version_key, 1});
    if (!read.ok()) return read.status();
    if ((*read)[0].has_value()) {
      version = (*read)[0]->version;
    } else {
      // Create it so that from now on the check is answered locally.
      if (absl::Status s = BumpVersion(); !s.ok()) return s;
      return Current();
    }
  }
  {
    absl::MutexLock lock(&mu_);
    if (snapshot_ != nullptr && snapshot_->version == version) return snapshot_;
  }
  return Load(version);
}

std::shared_ptr<const CatalogSnapshot> SegmentCatalog::TryCurrentLocally() {
  const std::string version_key(kCatalogVersionKey);
  std::optional<std::vector<Record>> local = store_.TryGetLocal({&version_key, 1});
  if (!local.has_value()) return nullptr;
  absl::MutexLock lock(&mu_);
  if (snapshot_ == nullptr || snapshot_->version != (*local)[0].version) return nullptr;
  return snapshot_;
}

absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> SegmentCatalog::Load(uint64_t version) {
  auto ids = store_.IndexScan(std::string(kSegmentIndex), "", kMaxCustomSegments);
  if (!ids.ok()) return ids.status();
  std::vector<std::string> keys;
  keys.reserve(ids->size());
  for (const std::string& id : *ids) keys.push_back(SegmentKey(id));
  auto records = store_.Get(keys);
  if (!records.ok()) return records.status();

  // Rules compiled for the previous snapshot are reused while their record is unchanged.
  std::shared_ptr<const CatalogSnapshot> previous;
  {
    absl::MutexLock lock(&mu_);
    previous = snapshot_;
  }
  auto snapshot = std::make_shared<CatalogSnapshot>();
  snapshot->version = version;
  snapshot->built_in = built_in_;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::optional<Record>& record = (*records)[i];
    if (!record.has_value()) continue;  // deleted between the scan and the read
    const CustomSegment* reusable = nullptr;
    if (previous != nullptr) {
      for (const CustomSegment& old : previous->custom) {
        if (old.definition.segment_id() == (*ids)[i] && old.version == record->version) reusable = &old;
      }
    }
    if (reusable != nullptr) {
      snapshot->custom.push_back(*reusable);
      continue;
    }
    v1::Segment definition;
    if (!definition.ParseFromString(record->value)) {
      return absl::InternalError(absl::StrCat("segment record \"", keys[i], "\" is corrupt"));
    }
    absl::StatusOr<CompiledRule> rule = CompiledRule::Compile(definition.rule(), keys[i]);
    if (!rule.ok())
      return absl::InternalError(absl::StrCat("stored segment does not compile: ", rule.status().message()));
    snapshot->custom.push_back(CustomSegment{std::move(definition), *std::move(rule), record->version});
  }
  absl::MutexLock lock(&mu_);
  if (snapshot_ == nullptr || snapshot_->version <= version) snapshot_ = snapshot;
  return std::shared_ptr<const CatalogSnapshot>(snapshot);
}

}  // namespace steward::segmentation
