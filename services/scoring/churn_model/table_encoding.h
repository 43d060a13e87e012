#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/scoring/churn_model/csv.h"
#include "services/scoring/churn_model/design_matrix.h"

namespace steward::scoring::churn_model {

// How to turn a table of account attributes into a design matrix with labels. Columns not named here
// are ignored (identifiers, free text).
struct TableEncoding {
  std::string label_column;
  std::string positive_label;  // → 1
  std::string negative_label;  // → 0; any other value is an error
  // Parsed as numbers, one feature each under the column's name. A blank cell becomes
  // blank_numeric_value (say in the caller why that value is right for the data).
  std::vector<std::string> numeric_columns;
  double blank_numeric_value = 0;
  // Also added as "log1p(<column>)" (for skewed amounts); must be numeric columns with values > −1.
  std::vector<std::string> log1p_columns;
  // One-hot: one 0/1 feature "<column>=<level>" per level present in the table, levels in byte
  // order. Every level is kept (none dropped as a reference): with L2 and an unpenalised intercept the
  // fit stays well-posed, and each level gets its own readable contribution in explanations.
  std::vector<std::string> categorical_columns;
};

// Encodes every row of `table`; features in the order numeric, log1p, categorical (as listed).
// Levels come from the whole table, which is a choice of vocabulary only (no label or statistic of a
// held-out row reaches the training). INVALID_ARGUMENT naming the row and column for a missing column,
// a number that does not parse, or an unknown label; an empty table is INVALID_ARGUMENT too.
absl::StatusOr<LabeledData> EncodeTable(const CsvTable& table, const TableEncoding& encoding);

}  // namespace steward::scoring::churn_model
