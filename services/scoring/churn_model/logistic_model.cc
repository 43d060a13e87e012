#include "services/scoring/churn_model/logistic_model.h"

#include <cmath>
#include <cstdint>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace steward::scoring::churn_model {
namespace {

constexpr absl::string_view kFormatLine = "steward.churn_model.logistic v1";

// %.17g round-trips every finite double exactly.
std::string Number(double value) { return absl::StrFormat("%.17g", value); }

absl::Status LineError(size_t line_number, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat("model text line ", line_number, ": ", message));
}

// The statistics in the order they are written; one place, so writer and reader cannot drift apart.
// Counts are stored as doubles in the text (exact below 2^53) and converted back when read.
struct StatField {
  absl::string_view key;
  bool is_count;  // read back only when a whole number in [0, 2^31), so the conversion is defined
  double (*get)(const FitStatistics&);
  void (*set)(FitStatistics&, double);
};
constexpr StatField kStatFields[] = {
    {"iterations", true, [](const FitStatistics& s) { return double(s.iterations); },
     [](FitStatistics& s, double v) { s.iterations = static_cast<int>(v); }},
    {"converged", true, [](const FitStatistics& s) { return s.converged ? 1.0 : 0.0; },
     [](FitStatistics& s, double v) { s.converged = v != 0; }},
    {"train_rows", true, [](const FitStatistics& s) { return double(s.train_rows); },
     [](FitStatistics& s, double v) { s.train_rows = static_cast<size_t>(v); }},
    {"train_positive_rate", false, [](const FitStatistics& s) { return s.train_positive_rate; },
     [](FitStatistics& s, double v) { s.train_positive_rate = v; }},
    {"train_log_loss", false, [](const FitStatistics& s) { return s.train_log_loss; },
     [](FitStatistics& s, double v) { s.train_log_loss = v; }},
    {"objective", false, [](const FitStatistics& s) { return s.objective; },
     [](FitStatistics& s, double v) { s.objective = v; }},
    {"gradient_max_abs", false, [](const FitStatistics& s) { return s.gradient_max_abs; },
     [](FitStatistics& s, double v) { s.gradient_max_abs = v; }},
    {"validation_rows", true, [](const FitStatistics& s) { return double(s.validation_rows); },
     [](FitStatistics& s, double v) { s.validation_rows = static_cast<size_t>(v); }},
    {"validation_auc", false, [](const FitStatistics& s) { return s.validation_auc; },
     [](FitStatistics& s, double v) { s.validation_auc = v; }},
    {"validation_log_loss", false, [](const FitStatistics& s) { return s.validation_log_loss; },
     [](FitStatistics& s, double v) { s.validation_log_loss = v; }},
};

}  // namespace

absl::Status ValidateModel(const LogisticModel& model) {
  DesignMatrix names_only{model.feature_names, {}};
  if (absl::Status status = ValidateDesignMatrix(names_only); !status.ok()) return status;
  const size_t n = model.feature_names.size();
  if (model.means.size() != n || model.scales.size() != n || model.weights.size() != n) {
    return absl::InvalidArgumentError(absl::StrCat("model has ", n, " features but ", model.means.size(),
                                                   " means, ", model.scales.size(), " scales and ",
                                                   model.weights.size(), " weights"));
  }
  for (size_t j = 0; j < n; ++j) {
    if (!std::isfinite(model.means[j]) || !std::isfinite(model.weights[j]) ||
        !std::isfinite(model.scales[j]) || model.scales[j] <= 0) {
      return absl::InvalidArgumentError(absl::StrCat("feature '", model.feature_names[j],
                                                     "' has a non-finite mean or weight, or a scale <= 0"));
    }
  }
  if (!std::isfinite(model.intercept)) return absl::InvalidArgumentError("model intercept is not finite");
  if (!std::isfinite(model.lambda) || model.lambda < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("model lambda ", model.lambda, " is not a finite value >= 0"));
  }
  return absl::OkStatus();
}

double Sigmoid(double z) {
  // exp of a negative number only, so neither branch overflows.
  if (z >= 0) return 1 / (1 + std::exp(-z));
  const double e = std::exp(z);
  return e / (1 + e);
}

double Logit(const LogisticModel& model, absl::Span<const double> raw_row) {
  double z = model.intercept;
  for (size_t j = 0; j < raw_row.size(); ++j) {
    z += model.weights[j] * (raw_row[j] - model.means[j]) / model.scales[j];
  }
  return z;
}

absl::StatusOr<double> PredictProbability(const LogisticModel& model, absl::Span<const double> raw_row) {
  if (raw_row.size() != model.feature_names.size()) {
    return absl::InvalidArgumentError(absl::StrCat("row has ", raw_row.size(), " values, the model ",
                                                   model.feature_names.size(), " features"));
  }
  for (size_t j = 0; j < raw_row.size(); ++j) {
    if (!std::isfinite(raw_row[j])) {
      return absl::InvalidArgumentError(absl::StrCat("feature '", model.feature_names[j], "' is not finite"));
    }
  }
  return Sigmoid(Logit(model, raw_row));
}

absl::StatusOr<std::vector<double>> PredictProbabilities(const LogisticModel& model, const DesignMatrix& x) {
  if (x.feature_names != model.feature_names) {
    return absl::InvalidArgumentError("design matrix features differ from the model's (names or order)");
  }
  if (absl::Status status = ValidateDesignMatrix(x); !status.ok()) return status;
  std::vector<double> probabilities(x.rows());
  for (size_t r = 0; r < x.rows(); ++r) probabilities[r] = Sigmoid(Logit(model, x.row(r)));
  return probabilities;
}

std::string SerializeModel(const LogisticModel& model) {
  std::string out = absl::StrCat(kFormatLine, "\n");
  absl::StrAppend(&out, "lambda\t", Number(model.lambda), "\n");
  absl::StrAppend(&out, "intercept\t", Number(model.intercept), "\n");
  for (const StatField& field : kStatFields) {
    absl::StrAppend(&out, field.key, "\t", Number(field.get(model.stats)), "\n");
  }
  for (size_t j = 0; j < model.feature_names.size(); ++j) {
    absl::StrAppend(&out, "feature\t", model.feature_names[j], "\t", Number(model.means[j]), "\t",
                    Number(model.scales[j]), "\t", Number(model.weights[j]), "\n");
  }
  return out;
}

absl::StatusOr<LogisticModel> ParseModel(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final newline
  if (lines.empty() || lines[0] != kFormatLine) {
    return absl::InvalidArgumentError(absl::StrCat("model text does not start with '", kFormatLine, "'"));
  }
  LogisticModel model;
  bool has_lambda = false, has_intercept = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t line_number = i + 1;
    std::vector<absl::string_view> fields = absl::StrSplit(lines[i], '\t');
    std::vector<double> numbers;
    for (size_t f = (fields[0] == "feature" ? 2 : 1); f < fields.size(); ++f) {
      double value;
      if (!absl::SimpleAtod(fields[f], &value)) {
        return LineError(line_number, absl::StrCat("'", fields[f], "' is not a number"));
      }
      numbers.push_back(value);
    }
    if (fields[0] == "feature") {
      if (fields.size() != 5)
        return LineError(line_number, "a feature line has name, mean, scale and weight");
      model.feature_names.emplace_back(fields[1]);
      model.means.push_back(numbers[0]);
      model.scales.push_back(numbers[1]);
      model.weights.push_back(numbers[2]);
      continue;
    }
    if (numbers.size() != 1) return LineError(line_number, "expected '<key><TAB><number>'");
    if (fields[0] == "lambda") {
      model.lambda = numbers[0];
      has_lambda = true;
      continue;
    }
    if (fields[0] == "intercept") {
      model.intercept = numbers[0];
      has_intercept = true;
      continue;
    }
    bool known = false;
    for (const StatField& field : kStatFields) {
      if (field.key == fields[0]) {
        const double v = numbers[0];
        if (!std::isfinite(v) || (field.is_count && !(v >= 0 && v < 2147483648.0 && v == std::floor(v)))) {
          return LineError(line_number, absl::StrCat("bad value for '", field.key, "'"));
        }
        field.set(model.stats, v);
        known = true;
      }
    }
    if (!known) return LineError(line_number, absl::StrCat("unknown key '", fields[0], "'"));
  }
  if (!has_lambda || !has_intercept)
    return absl::InvalidArgumentError("model text lacks lambda or intercept");
  if (absl::Status status = ValidateModel(model); !status.ok()) return status;
  return model;
}

}  // namespace steward::scoring::churn_model
