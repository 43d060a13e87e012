#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "services/scoring/predictive/bg_nbd.h"
#include "services/scoring/predictive/gamma_gamma.h"

namespace steward::scoring::predictive {

// One purchase from a transaction log.
struct Purchase {
  std::string customer_id;
  absl::CivilDay day;
  double value = 0.0;
};

// Parses the CDNOW event log as distributed with the BTYD R package (`cdnowElog.csv`): a header naming
// at least `masterid`, `date` (yyyymmdd) and `sales`, then one purchase per line. Any column order; CRLF
// and blank lines are accepted. INVALID_ARGUMENT naming the line for a missing column, a bad date or a
// bad number.
absl::StatusOr<std::vector<Purchase>> ParseCdnowElog(absl::string_view csv);
// The same, reading the file; NOT_FOUND if it cannot be opened.
absl::StatusOr<std::vector<Purchase>> ReadCdnowElog(const std::string& path);

// A customer's calibration-period summary, in the conventions of Fader, Hardie & Lee (2005) for CDNOW.
struct CustomerSummary {
  std::string customer_id;
  RfmSummary rfm;
  // Mean value of the repeat transactions (after merging same-day purchases); 0 when rfm.x = 0.
  double mean_repeat_value = 0.0;
};

struct CalibrationOptions {
  // Last day of the calibration period (inclusive): 1997-09-30 for CDNOW's 39 weeks.
  absl::CivilDay calibration_end;
  // Length of the model's time unit in days: 7 for the literature's weeks.
  double days_per_time_unit = 7.0;
};

// Summarises a purchase log for the calibration period:
// - purchases by one customer on the same day are one transaction, whose value is their sum (the
//   literature's convention for CDNOW: the log's time resolution is a day);
// - purchases after calibration_end are ignored, and customers whose first purchase is after it left out;
// - x = transactions − 1, t_x = (last day − first day) / days_per_time_unit,
//   T = (calibration_end − first day) / days_per_time_unit (so a first purchase on the last day gives T = 0,
//   which ValidateRfmSummary rejects: such a customer tells the models nothing yet);
// - mean_repeat_value = the mean value of transactions 2..x+1, as the Gamma-Gamma model wants.
// Customers come out in order of their first appearance in `purchases`.
std::vector<CustomerSummary> SummarizeCalibration(absl::Span<const Purchase> purchases,
                                                  const CalibrationOptions& options);

// The BG/NBD input: every customer's rfm.
std::vector<RfmSummary> RfmSummaries(absl::Span<const CustomerSummary> customers);
// The Gamma-Gamma input: the customers with at least one repeat transaction.
std::vector<MonetarySummary> RepeatBuyerValues(absl::Span<const CustomerSummary> customers);

}  // namespace steward::scoring::predictive
