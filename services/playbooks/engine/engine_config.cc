#include "services/playbooks/engine/engine_config.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/text_config.h"
#include "services/playbooks/engine/frequency_caps.h"

namespace steward::playbooks {
namespace {

using text_config::Node;
using text_config::Reporter;

void CheckConfig(const v1::PlaybookEngineConfig& config, const Node& root, Reporter& r) {
  for (int i = 0; i < config.frequency_caps_size(); ++i) {
    const v1::FrequencyCap& cap = config.frequency_caps(i);
    const Node node = r.Nested(root, "frequency_caps", i);
    if (cap.max_touches() <= 0) {
      r.Error(r.Field(node, "max_touches"), absl::StrCat("must be > 0, got ", cap.max_touches()));
    }
    if (cap.window_days() < 1 || cap.window_days() > 365) {
      r.Error(r.Field(node, "window_days"), absl::StrCat("must be in 1..365, got ", cap.window_days()));
    }
    absl::flat_hash_set<int> seen;
    for (int c = 0; c < cap.channels_size(); ++c) {
      const auto channel = static_cast<v1::Channel>(cap.channels(c));
      if (!IsCustomerFacing(channel)) {
        r.Error(r.Field(node, "channels", c),
                absl::StrCat(v1::Channel_Name(channel),
                             " is not customer-facing; only email, in-app, call and "
                             "offer touches are capped"));
      } else if (!seen.insert(channel).second) {
        r.Error(r.Field(node, "channels", c), absl::StrCat(v1::Channel_Name(channel), " is listed twice"));
      }
    }
  }
  if (config.has_claim_lease()) {
    const int64_t seconds = config.claim_lease().seconds();
    if (seconds < 1 || seconds > 3600) {
      r.Error(r.Field(root, "claim_lease"), absl::StrCat("must be 1 s .. 1 h, got ", seconds, " s"));
    }
  }
}

}  // namespace

absl::StatusOr<v1::PlaybookEngineConfig> LoadPlaybookEngineConfig(const std::string& path) {
  return text_config::LoadFile<v1::PlaybookEngineConfig>(path, CheckConfig);
}

absl::Status ValidatePlaybookEngineConfig(const v1::PlaybookEngineConfig& config, absl::string_view source) {
  return text_config::Validate(config, source, CheckConfig);
}

}  // namespace steward::playbooks
