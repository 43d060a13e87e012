#include "services/scoring/predictive/transaction_summary.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace steward::scoring::predictive {
namespace {

absl::StatusOr<absl::CivilDay> ParseCompactDate(absl::string_view text) {
  int yyyymmdd = 0;
  if (text.size() != 8 || !absl::SimpleAtoi(text, &yyyymmdd)) {
    return absl::InvalidArgumentError(absl::StrCat("date '", text, "' is not yyyymmdd"));
  }
  const int year = yyyymmdd / 10000, month = yyyymmdd / 100 % 100, day = yyyymmdd % 100;
  const absl::CivilDay parsed(year, month, day);
  // CivilDay normalises 1997-02-30 to 1997-03-02; a real date survives the round trip.
  if (parsed.year() != year || parsed.month() != month || parsed.day() != day) {
    return absl::InvalidArgumentError(absl::StrCat("date '", text, "' does not exist"));
  }
  return parsed;
}

}  // namespace

absl::StatusOr<std::vector<Purchase>> ParseCdnowElog(absl::string_view csv) {
  std::vector<Purchase> purchases;
  int id_column = -1, date_column = -1, value_column = -1;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    ++line_number;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty()) continue;
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ',');
    if (id_column < 0) {
      for (std::size_t i = 0; i < fields.size(); ++i) {
        const absl::string_view name = absl::StripAsciiWhitespace(fields[i]);
        if (name == "masterid") id_column = static_cast<int>(i);
        if (name == "date") date_column = static_cast<int>(i);
        if (name == "sales") value_column = static_cast<int>(i);
      }
      if (id_column < 0 || date_column < 0 || value_column < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("CDNOW log line ", line_number,
                         ": the header must name masterid, date and sales; got '", line, "'"));
      }
      continue;
    }
    const std::size_t needed = static_cast<std::size_t>(std::max({id_column, date_column, value_column})) + 1;
    if (fields.size() < needed) {
      return absl::InvalidArgumentError(absl::StrCat("CDNOW log line ", line_number, ": expected at least ",
                                                     needed, " fields, got ", fields.size()));
    }
    Purchase purchase;
    purchase.customer_id = std::string(absl::StripAsciiWhitespace(fields[id_column]));
    absl::StatusOr<absl::CivilDay> day = ParseCompactDate(absl::StripAsciiWhitespace(fields[date_column]));
    if (!day.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("CDNOW log line ", line_number, ": ", day.status().message()));
    purchase.day = *day;
    if (!absl::SimpleAtod(absl::StripAsciiWhitespace(fields[value_column]), &purchase.value) ||
        !std::isfinite(purchase.value)) {
      return absl::InvalidArgumentError(absl::StrCat("CDNOW log line ", line_number, ": sales '",
                                                     fields[value_column], "' is not a number"));
    }
    purchases.push_back(std::move(purchase));
  }
  if (id_column < 0) return absl::InvalidArgumentError("CDNOW log: empty (no header)");
  return purchases;
}

absl::StatusOr<std::vector<Purchase>> ReadCdnowElog(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::ostringstream contents;
  contents << file.rdbuf();
  return ParseCdnowElog(contents.str());
}

std::vector<CustomerSummary> SummarizeCalibration(absl::Span<const Purchase> purchases,
                                                  const CalibrationOptions& options) {
  // Per customer, in order of first appearance: the value of each distinct day, days in order.
  struct Days {
    std::string customer_id;
    std::map<absl::CivilDay, double> value_by_day;
  };
  std::vector<Days> customers;
  absl::flat_hash_map<absl::string_view, std::size_t> index_by_id;
  // Ids are views into `purchases`, which outlives the map.
  for (const Purchase& purchase : purchases) {
    if (purchase.day > options.calibration_end) continue;
    auto [it, inserted] = index_by_id.try_emplace(purchase.customer_id, customers.size());
    if (inserted) customers.push_back({purchase.customer_id, {}});
    customers[it->second].value_by_day[purchase.day] += purchase.value;
  }
  std::vector<CustomerSummary> summaries;
  summaries.reserve(customers.size());
  for (const Days& customer : customers) {
    const absl::CivilDay first = customer.value_by_day.begin()->first;
    const absl::CivilDay last = customer.value_by_day.rbegin()->first;
    double repeat_value = 0.0;
    for (const auto& [day, value] : customer.value_by_day) {
      if (day != first) repeat_value += value;
    }
    CustomerSummary summary;
    summary.customer_id = customer.customer_id;
    summary.rfm.x = static_cast<double>(customer.value_by_day.size() - 1);
    summary.rfm.t_x = static_cast<double>(last - first) / options.days_per_time_unit;
    summary.rfm.T = static_cast<double>(options.calibration_end - first) / options.days_per_time_unit;
    summary.mean_repeat_value = summary.rfm.x > 0 ? repeat_value / summary.rfm.x : 0.0;
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

std::vector<RfmSummary> RfmSummaries(absl::Span<const CustomerSummary> customers) {
  std::vector<RfmSummary> rfm;
  rfm.reserve(customers.size());
  for (const CustomerSummary& customer : customers) rfm.push_back(customer.rfm);
  return rfm;
}

std::vector<MonetarySummary> RepeatBuyerValues(absl::Span<const CustomerSummary> customers) {
  std::vector<MonetarySummary> values;
  for (const CustomerSummary& customer : customers) {
    if (customer.rfm.x >= 1) values.push_back({customer.rfm.x, customer.mean_repeat_value});
  }
  return values;
}

}  // namespace steward::scoring::predictive
