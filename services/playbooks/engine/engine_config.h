#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "steward/v1/playbook_service.pb.h"

namespace steward::playbooks {

// The playbook engine's settings, config/playbooks.textproto (v1::PlaybookEngineConfig): frequency caps
// (each with max_touches > 0, window_days 1..365, customer-facing channels only, each channel at most
// once) and the claim lease (1 s .. 1 h; 30 s when absent). Errors are "file:line:col: field: message".
absl::StatusOr<v1::PlaybookEngineConfig> LoadPlaybookEngineConfig(const std::string& path);
absl::Status ValidatePlaybookEngineConfig(const v1::PlaybookEngineConfig& config, absl::string_view source);

}  // namespace steward::playbooks
