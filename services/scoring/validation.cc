#include "services/scoring/validation.h"

#include <algorithm>
#include <cmath>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/field_error.h"
#include "common/proto_time.h"

namespace steward::scoring {
namespace {

constexpr std::size_t kMaxIdLength = 128;
constexpr int kMaxLabels = 32;
constexpr std::size_t kMaxLabelKeyLength = 63;
constexpr std::size_t kMaxLabelValueLength = 256;
constexpr std::size_t kMaxTextLength = 256;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
         c == ':' || c == '-';
}

std::string Path(absl::string_view prefix, absl::string_view field) {
  return absl::StrCat(prefix, ".", field);
}

// Checks that `value` is finite and inside [min, max] (max_open: [min, max)).
absl::Status CheckRange(absl::string_view prefix, absl::string_view field, double value, double min,
                        double max, bool max_open = false) {
  if (!std::isfinite(value) || value < min || value > max || (max_open && value == max)) {
    return FieldError(Path(prefix, field),
                      absl::StrCat("must be in [", min, ", ", max, max_open ? ")" : "]", ", got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckNonNegative(absl::string_view prefix, absl::string_view field, double value) {
  if (!std::isfinite(value) || value < 0) {
    return FieldError(Path(prefix, field), absl::StrCat("must be a finite number >= 0, got ", value));
  }
  return absl::OkStatus();
}

absl::Status CheckTimestamp(absl::string_view prefix, absl::string_view field,
                            const google::protobuf::Timestamp& t) {
  // The protobuf Timestamp range: 0001-01-01 to 9999-12-31.
  if (t.seconds() < -62135596800 || t.seconds() > 253402300799 || t.nanos() < 0 || t.nanos() > 999999999) {
    return FieldError(Path(prefix, field), "is not a valid timestamp");
  }
  return absl::OkStatus();
}

absl::Status ValidateEventValue(absl::string_view prefix, const v1::Event& event) {
  const double value = event.value();
  switch (event.type()) {
    case v1::EVENT_TYPE_NPS_RESPONSE:
      if (!std::isfinite(value) || value < 0 || value > 10 || value != std::floor(value)) {
        return FieldError(Path(prefix, "value"),
                          absl::StrCat("an NPS score is an integer from 0 to 10, got ", value));
      }
      return absl::OkStatus();
    case v1::EVENT_TYPE_CSAT_RESPONSE:
      return CheckRange(prefix, "value", value, 1, 5);
    case v1::EVENT_TYPE_SURVEY_RESPONSE:
      return CheckRange(prefix, "value", value, 0, 10);
    case v1::EVENT_TYPE_LIMIT_USAGE:
    case v1::EVENT_TYPE_SEATS_ACTIVE:
    case v1::EVENT_TYPE_INVOICE_PAID:
    case v1::EVENT_TYPE_UPGRADE:
    case v1::EVENT_TYPE_DOWNGRADE:
    case v1::EVENT_TYPE_EXPANSION:
      return CheckNonNegative(prefix, "value", value);
    case v1::EVENT_TYPE_ROI_REPORTED:
      if (!std::isfinite(value)) return FieldError(Path(prefix, "value"), "must be a finite number");
      return absl::OkStatus();
    default:
      if (!std::isfinite(value)) return FieldError(Path(prefix, "value"), "must be a finite number");
      return absl::OkStatus();
  }
}

}  // namespace

absl::Status ValidateAccountId(absl::string_view field, absl::string_view account_id) {
  if (account_id.empty()) return FieldError(field, "is required");
  if (account_id.size() > kMaxIdLength) {
    return FieldError(field, absl::StrCat("is longer than ", kMaxIdLength, " characters"));
  }
  for (char c : account_id) {
    if (!IsIdChar(c)) return FieldError(field, "may contain only letters, digits and . _ : -");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ValidateAccountIds(
    absl::string_view field, const google::protobuf::RepeatedPtrField<std::string>& requested, int max) {
  if (requested.empty()) return FieldError(field, "must hold at least one id");
  if (requested.size() > max) {
    return FieldError(field, absl::StrCat("holds ", requested.size(), " ids; at most ", max, " per call"));
  }
  std::vector<std::string> ids;
  absl::flat_hash_set<std::string> seen;
  for (int i = 0; i < requested.size(); ++i) {
    const std::string& id = requested[i];
    if (absl::Status s = ValidateAccountId(absl::StrCat(field, "[", i, "]"), id); !s.ok()) return s;
    if (seen.insert(id).second) ids.push_back(id);
  }
  return ids;
}

namespace {

// Labels are matched by rules (segment.proto), so keys are kept to a plain, case-stable alphabet.
absl::Status CheckLabels(const std::string& field,
                         const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > kMaxLabels) {
    return FieldError(field, absl::StrCat("holds ", labels.size(), " labels; at most ", kMaxLabels));
  }
  for (const auto& [key, value] : labels) {
    const bool key_ok =
        !key.empty() && key.size() <= kMaxLabelKeyLength && std::all_of(key.begin(), key.end(), [](char c) {
          return absl::ascii_islower(static_cast<unsigned char>(c)) ||
                 absl::ascii_isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
        });
    if (!key_ok) {
      return FieldError(
          absl::StrCat(field, "[\"", absl::CHexEscape(key), "\"]"),
          absl::StrCat("a label key must be 1 to ", kMaxLabelKeyLength, " characters of [a-z0-9_.-]"));
    }
    if (value.size() > kMaxLabelValueLength) {
      return FieldError(absl::StrCat(field, "[\"", key, "\"]"),
                        absl::StrCat("is longer than ", kMaxLabelValueLength, " characters"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateAccount(absl::string_view field, const v1::Account& a) {
  if (absl::Status s = ValidateAccountId(Path(field, "account_id"), a.account_id()); !s.ok()) return s;
  if (a.display_name().size() > kMaxTextLength) {
    return FieldError(Path(field, "display_name"),
                      absl::StrCat("is longer than ", kMaxTextLength, " characters"));
  }
  if (a.industry().size() > kMaxTextLength) {
    return FieldError(Path(field, "industry"),
                      absl::StrCat("is longer than ", kMaxTextLength, " characters"));
  }
  if (!v1::AccountSize_IsValid(a.size()))
    return FieldError(Path(field, "size"), "is not a known AccountSize");
  if (!v1::AccountStatus_IsValid(a.status())) {
    return FieldError(Path(field, "status"), "is not a known AccountStatus");
  }
  if (a.seats() < 0) return FieldError(Path(field, "seats"), "must be >= 0");
  if (a.plan().feature_count() < 0) return FieldError(Path(field, "plan.feature_count"), "must be >= 0");
  for (const auto& [name, limit] : a.plan().limits()) {
    if (name.empty() || name.size() > kMaxIdLength) {
      return FieldError(Path(field, "plan.limits"), "limit names must be 1 to 128 characters");
    }
    if (!std::isfinite(limit) || limit <= 0) {
      return FieldError(Path(field, absl::StrCat("plan.limits[", name, "]")), "must be a finite number > 0");
    }
  }
  const std::pair<absl::string_view, double> non_negative[] = {
      {"mrr", a.mrr()},
      {"arpu", a.arpu()},
      {"cac", a.cac()},
      {"cost_of_retention", a.cost_of_retention()},
      {"expansion_rate", a.expansion_rate()},
      {"average_purchase_value", a.average_purchase_value()},
      {"purchases_per_year", a.purchases_per_year()},
      {"expected_lifespan_years", a.expected_lifespan_years()},
  };
  for (const auto& [name, value] : non_negative) {
    if (absl::Status s = CheckNonNegative(field, name, value); !s.ok()) return s;
  }
  if (absl::Status s = CheckRange(field, "gross_margin", a.gross_margin(), 0, 1); !s.ok()) return s;
  if (absl::Status s = CheckRange(field, "monthly_churn_rate", a.monthly_churn_rate(), 0, 1, true); !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckRange(field, "annual_discount_rate", a.annual_discount_rate(), 0, 1, true);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = CheckTimestamp(field, "start_time", a.start_time()); !s.ok()) return s;
  if (absl::Status s = CheckTimestamp(field, "renewal_time", a.renewal_time()); !s.ok()) return s;
  return CheckLabels(Path(field, "labels"), a.labels());
}

absl::Status ValidateEvent(absl::string_view field, const v1::Event& event, absl::Time now,
                           absl::Duration max_future_skew) {
  if (event.event_id().empty()) return FieldError(Path(field, "event_id"), "is required");
  if (event.event_id().size() > kMaxIdLength) {
    return FieldError(Path(field, "event_id"), absl::StrCat("is longer than ", kMaxIdLength, " characters"));
  }
  if (absl::Status s = ValidateAccountId(Path(field, "account_id"), event.account_id()); !s.ok()) return s;
  if (event.type() == v1::EVENT_TYPE_UNSPECIFIED || !v1::EventType_IsValid(event.type())) {
    return FieldError(Path(field, "type"), absl::StrCat("is not a known event type: ", event.type()));
  }
  if (!event.has_time()) return FieldError(Path(field, "time"), "is required");
  if (absl::Status s = CheckTimestamp(field, "time", event.time()); !s.ok()) return s;
  const absl::Time time = FromProtoTime(event.time());
  if (time > now + max_future_skew) {
    return FieldError(Path(field, "time"),
                      absl::StrCat("is more than ", absl::FormatDuration(max_future_skew),
                                   " in the future: ", absl::FormatTime(time)));
  }
  if (event.subject().size() > kMaxIdLength) {
    return FieldError(Path(field, "subject"), absl::StrCat("is longer than ", kMaxIdLength, " characters"));
  }
  if ((event.type() == v1::EVENT_TYPE_FEATURE_USED || event.type() == v1::EVENT_TYPE_LIMIT_USAGE) &&
      event.subject().empty()) {
    return FieldError(Path(field, "subject"), "is required for this event type (the feature or limit name)");
  }
  if (absl::Status s = ValidateEventValue(field, event); !s.ok()) return s;
  if (event.has_sentiment()) {
    if (absl::Status s = CheckRange(field, "sentiment", event.sentiment(), 0, 1); !s.ok()) return s;
  } else if (event.type() == v1::EVENT_TYPE_SOCIAL_MENTION) {
    return FieldError(Path(field, "sentiment"), "is required for a social mention");
  }
  return absl::OkStatus();
}

}  // namespace steward::scoring
