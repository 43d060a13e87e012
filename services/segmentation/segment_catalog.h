#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/store/store.h"
#include "services/segmentation/rules/rule.h"
#include "steward/v1/segment.pb.h"
#include "steward/v1/segmentation_config.pb.h"

namespace steward::segmentation {

// A custom segment with its rule compiled.
struct CustomSegment {
  v1::Segment definition;
  CompiledRule rule;
  uint64_t version = 0;  // of its stored record
};

// Every segment at one moment: the built-in ones (from configuration) and the custom ones (from the
// store), by id. Immutable; shared by readers.
struct CatalogSnapshot {
  // The catalogue version it was read at (kCatalogVersionKey's version; 0 before any change).
  uint64_t version = 0;
  std::vector<v1::Segment> built_in;  // by id
  std::vector<CustomSegment> custom;  // by id
  const v1::Segment* Find(const std::string& segment_id) const;
};

// Custom segments: definitions stored as records (keys.h), validated and compiled on write, and a
// cached snapshot of the whole catalogue that is re-read only when the catalogue version changes.
// Thread-safe.
class SegmentCatalog {
 public:
  // Custom segments one deployment may define; a limit keeps every evaluation cheap.
  static constexpr int kMaxCustomSegments = 500;

  SegmentCatalog(Store& store, const Clock& clock,
                 const v1::SegmentationConfig& config);  // The current catalogue; one tracked read (normally
                                                         // no I/O) when nothing changed.
  absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> Current();
  // The current catalogue if that needs no I/O at all, else null (then call Current).
  std::shared_ptr<const CatalogSnapshot> TryCurrentLocally();

  absl::StatusOr<v1::Segment> Create(const v1::Segment& segment);
  absl::StatusOr<v1::Segment> Update(const v1::Segment& segment);
  absl::Status Delete(const std::string& segment_id);

 private:
  // Validates a segment given by a caller (its rule compiled), for create or update.
  absl::StatusOr<CompiledRule> Validate(const v1::Segment& segment) const;
  absl::Status BumpVersion();
  absl::StatusOr<std::shared_ptr<const CatalogSnapshot>> Load(uint64_t version);

  Store& store_;
  const Clock& clock_;
  const std::vector<v1::Segment> built_in_;
  absl::Mutex mu_;
  std::shared_ptr<const CatalogSnapshot> snapshot_ ABSL_GUARDED_BY(mu_);
};

// Whether `id` names a built-in segment ("<segmentation>/<value>").
bool IsBuiltInSegmentId(const std::string& id);

}  // namespace steward::segmentation
