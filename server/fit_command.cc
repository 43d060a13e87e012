#include "server/fit_command.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "google/protobuf/util/json_util.h"
#include "services/scoring/churn_model/csv.h"
#include "services/scoring/churn_model/table_encoding.h"
#include "services/scoring/predictive/transaction_summary.h"
#include "services/scoring/predictive_fit.h"

namespace steward {
namespace {

using Options = absl::flat_hash_map<std::string, std::string>;

constexpr absl::string_view kKnownOptions[] = {"data",    "model",   "calibration_end", "days_per_unit",
                                               "column",  "label",   "positive",        "negative",
                                               "numeric", "log1p",   "categorical",     "seed",
                                               "min_rows"};

// --name=value or --name value, each option at most once.
absl::StatusOr<Options> ParseOptions(const std::vector<std::string>& args) {
  Options options;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (!absl::StartsWith(args[i], "--")) return absl::InvalidArgumentError(absl::StrCat("unexpected argument \"", args[i], "\""));
    std::string name = args[i].substr(2);
    std::string value;
    if (const std::size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    if (std::find(std::begin(kKnownOptions), std::end(kKnownOptions), name) == std::end(kKnownOptions)) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
    }
    if (!options.emplace(name, value).second) return absl::InvalidArgumentError(absl::StrCat("--", name, " given twice"));
  }
  for (absl::string_view required : {"data", "model"}) {
    if (!options.contains(required)) return absl::InvalidArgumentError(absl::StrCat("--", required, " is required"));
  }
  return options;
}

std::string Get(const Options& options, const std::string& name, const std::string& fallback) {
  auto it = options.find(name);
  return it == options.end() ? fallback : it->second;
}

std::vector<std::string> List(const Options& options, const std::string& name) {
  const std::string value = Get(options, name, "");
  if (value.empty()) return {};
  return absl::StrSplit(value, ',');
}

template <typename Number>
absl::StatusOr<Number> NumberOption(const Options& options, const std::string& name, Number fallback) {
  auto it = options.find(name);
  if (it == options.end()) return fallback;
  Number value;
  if constexpr (std::is_floating_point_v<Number>) {
    if (!absl::SimpleAtod(it->second, &value)) return absl::InvalidArgumentError(absl::StrCat("--", name, " is not a number"));
  } else {
    if (!absl::SimpleAtoi(it->second, &value)) return absl::InvalidArgumentError(absl::StrCat("--", name, " is not an integer"));
  }
  return value;
}

struct Fitted {
  std::string json;
  bool accepted = false;
};

template <typename Message>
absl::StatusOr<Fitted> ToJson(const Message& message, bool accepted) {
  google::protobuf::util::JsonPrintOptions print;
  print.add_whitespace = true;
  print.always_print_primitive_fields = true;
  Fitted fitted;
  fitted.accepted = accepted;
  if (!google::protobuf::util::MessageToJsonString(message, &fitted.json, print).ok()) {
    return absl::InternalError("cannot print the fitted model as JSON");
  }
  return fitted;
}

absl::StatusOr<Fitted> FitTransactionModel(const Options& options, bool bg_nbd, int min_rows) {
  auto purchases = scoring::predictive::ReadCdnowElog(Get(options, "data", ""));
  if (!purchases.ok()) return purchases.status();
  if (purchases->empty()) return absl::InvalidArgumentError("the file holds no purchases");
  scoring::predictive::CalibrationOptions calibration;
  calibration.calibration_end = std::max_element(purchases->begin(), purchases->end(), [](const auto& a, const auto& b) {
                                  return a.day < b.day;
                                })->day;
  if (options.contains("calibration_end") &&
      !absl::ParseCivilTime(Get(options, "calibration_end", ""), &calibration.calibration_end)) {
    return absl::InvalidArgumentError("--calibration_end must be YYYY-MM-DD");
  }
  auto days_per_unit = NumberOption<double>(options, "days_per_unit", 7.0);
  if (!days_per_unit.ok()) return days_per_unit.status();
  if (!(*days_per_unit > 0)) return absl::InvalidArgumentError("--days_per_unit must be positive");
  calibration.days_per_time_unit = *days_per_unit;
  std::vector<scoring::predictive::CustomerSummary> customers =
      scoring::predictive::SummarizeCalibration(*purchases, calibration);
  // A first purchase on the last calibration day gives T = 0: such a customer tells the model nothing.
  customers.erase(std::remove_if(customers.begin(), customers.end(), [](const auto& c) { return c.rfm.T <= 0; }),
                  customers.end());
  if (bg_nbd) {
    v1::BgNbdModel model;
    scoring::FitBgNbdModel(scoring::predictive::RfmSummaries(customers), min_rows, model);
    return ToJson(model, model.statistics().accepted());
  }
  v1::GammaGammaModel model;
  scoring::FitGammaGammaModel(scoring::predictive::RepeatBuyerValues(customers), min_rows, model);
  return ToJson(model, model.statistics().accepted());
}

absl::StatusOr<Fitted> FitSurvival(const Options& options) {
  auto text = scoring::churn_model::ReadFileToString(Get(options, "data", ""));
  if (!text.ok()) return text.status();
  auto table = scoring::churn_model::ParseCsv(*text);
  if (!table.ok()) return table.status();
  auto column = table->ColumnIndex(Get(options, "column", "alive"));
  if (!column.ok()) return absl::InvalidArgumentError(column.status().message());
  v1::SbgCohortModel model;
  model.set_cohort(Get(options, "data", ""));
  for (std::size_t r = 0; r < table->rows.size(); ++r) {
    double alive;
    if (!absl::SimpleAtod(table->rows[r][*column], &alive)) {
      // Line numbers count the header as line 1.
      return absl::InvalidArgumentError(absl::StrCat("line ", r + 2, ": \"", table->rows[r][*column], "\" is not a number"));
    }
    model.add_alive(alive);
  }
  // The series is the analyst's; whatever its size, the fit judges it.
  scoring::FitSbgModel(model.alive().empty() ? 0 : static_cast<std::size_t>(model.alive(0)), 0, model);
  return ToJson(model, model.statistics().accepted());
}

absl::StatusOr<Fitted> FitChurn(const Options& options, int min_rows) {
  if (!options.contains("label")) return absl::InvalidArgumentError("--label is required for --model churn");
  auto text = scoring::churn_model::ReadFileToString(Get(options, "data", ""));
  if (!text.ok()) return text.status();
  auto table = scoring::churn_model::ParseCsv(*text);
  if (!table.ok()) return table.status();
  scoring::churn_model::TableEncoding encoding;
  encoding.label_column = Get(options, "label", "");
  encoding.positive_label = Get(options, "positive", "1");
  encoding.negative_label = Get(options, "negative", "0");
  encoding.numeric_columns = List(options, "numeric");
  encoding.log1p_columns = List(options, "log1p");
  encoding.categorical_columns = List(options, "categorical");
  if (encoding.numeric_columns.empty() && encoding.categorical_columns.empty()) {
    return absl::InvalidArgumentError("name the feature columns with --numeric and/or --categorical");
  }
  auto data = scoring::churn_model::EncodeTable(*table, encoding);
  if (!data.ok()) return data.status();
  auto seed = NumberOption<uint64_t>(options, "seed", 20240607);
  if (!seed.ok()) return seed.status();
  v1::ChurnClassifierModel model;
  scoring::FitChurnModel(*data, *seed, min_rows, model);
  return ToJson(model, model.statistics().accepted());
}

absl::StatusOr<Fitted> RunFit(const std::vector<std::string>& args) {
  auto options = ParseOptions(args);
  if (!options.ok()) return options.status();
  auto min_rows = NumberOption<int>(*options, "min_rows", 10);
  if (!min_rows.ok()) return min_rows.status();
  const std::string model = Get(*options, "model", "");
  if (model == "bgnbd" || model == "gamma-gamma") return FitTransactionModel(*options, model == "bgnbd", *min_rows);
  if (model == "sbg") return FitSurvival(*options);
  if (model == "churn") return FitChurn(*options, *min_rows);
  return absl::InvalidArgumentError(
      absl::StrCat("--model must be bgnbd, gamma-gamma, sbg or churn, not \"", model, "\""));
}

}  // namespace

int RunFitCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  absl::StatusOr<Fitted> fitted = RunFit(args);
  if (!fitted.ok()) {
    err << "steward fit: " << fitted.status().message() << "\n";
    return 2;
  }
  out << fitted->json << "\n";
  return fitted->accepted ? 0 : 1;
}

}  // namespace steward
