#include "services/scoring/churn_model/table_encoding.h"

#include <cmath>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace steward::scoring::churn_model {
namespace {

absl::StatusOr<std::vector<size_t>> Columns(const CsvTable& table, const std::vector<std::string>& names) {
  std::vector<size_t> indices;
  for (const std::string& name : names) {
    absl::StatusOr<size_t> index = table.ColumnIndex(name);
    if (!index.ok()) return absl::InvalidArgumentError(index.status().message());
    indices.push_back(*index);
  }
  return indices;
}

}  // namespace

absl::StatusOr<LabeledData> EncodeTable(const CsvTable& table, const TableEncoding& encoding) {
  if (table.rows.empty()) return absl::InvalidArgumentError("table has no rows");
  absl::StatusOr<size_t> label_column = table.ColumnIndex(encoding.label_column);
  if (!label_column.ok()) return absl::InvalidArgumentError(label_column.status().message());
  absl::StatusOr<std::vector<size_t>> numeric = Columns(table, encoding.numeric_columns);
  if (!numeric.ok()) return numeric.status();
  absl::StatusOr<std::vector<size_t>> categorical = Columns(table, encoding.categorical_columns);
  if (!categorical.ok()) return categorical.status();
  std::vector<size_t> log1p_positions;  // into numeric_columns
  for (const std::string& name : encoding.log1p_columns) {
    size_t position = 0;
    while (position < encoding.numeric_columns.size() && encoding.numeric_columns[position] != name)
      ++position;
    if (position == encoding.numeric_columns.size()) {
      return absl::InvalidArgumentError(absl::StrCat("log1p column '", name, "' is not a numeric column"));
    }
    log1p_positions.push_back(position);
  }

  LabeledData data;
  for (const std::string& name : encoding.numeric_columns) data.x.feature_names.push_back(name);
  for (const std::string& name : encoding.log1p_columns)
    data.x.feature_names.push_back(absl::StrCat("log1p(", name, ")"));
  // Each categorical column's levels, in byte order, with their feature offset.
  std::vector<std::map<std::string, size_t>> levels(categorical->size());
  for (size_t c = 0; c < categorical->size(); ++c) {
    for (const std::vector<std::string>& row : table.rows) levels[c].emplace(row[(*categorical)[c]], 0);
    for (auto& [level, offset] : levels[c]) {
      offset = data.x.feature_names.size();
      data.x.feature_names.push_back(absl::StrCat(encoding.categorical_columns[c], "=", level));
    }
  }

  const size_t width = data.x.feature_names.size();
  data.x.values.assign(table.rows.size() * width, 0.0);
  data.labels.reserve(table.rows.size());
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const std::vector<std::string>& row = table.rows[r];
    double* out = data.x.values.data() + r * width;
    const std::string& label = row[*label_column];
    if (label == encoding.positive_label) {
      data.labels.push_back(1);
    } else if (label == encoding.negative_label) {
      data.labels.push_back(0);
    } else {
      return absl::InvalidArgumentError(absl::StrCat("row ", r + 1, ": label '", label, "' is neither '",
                                                     encoding.positive_label, "' nor '",
                                                     encoding.negative_label, "'"));
    }
    for (size_t n = 0; n < numeric->size(); ++n) {
      const std::string& cell = row[(*numeric)[n]];
      double value = encoding.blank_numeric_value;
      // SimpleAtod accepts "nan" and "inf"; a feature must be a finite number.
      if (!absl::StripAsciiWhitespace(cell).empty() &&
          (!absl::SimpleAtod(cell, &value) || !std::isfinite(value))) {
        return absl::InvalidArgumentError(absl::StrCat(
            "row ", r + 1, ", column '", encoding.numeric_columns[n], "': '", cell, "' is not a number"));
      }
      out[n] = value;
    }
    for (size_t l = 0; l < log1p_positions.size(); ++l) {
      const double value = out[log1p_positions[l]];
      if (!(value > -1)) {
        return absl::InvalidArgumentError(absl::StrCat("row ", r + 1, ", column '", encoding.log1p_columns[l],
                                                       "': log1p of ", value, " is undefined"));
      }
      out[numeric->size() + l] = std::log1p(value);
    }
    for (size_t c = 0; c < categorical->size(); ++c) out[levels[c].at(row[(*categorical)[c]])] = 1.0;
  }
  return data;
}

}  // namespace steward::scoring::churn_model
