#include "services/scoring/churn_model/telco_churn.h"

#include "services/scoring/churn_model/csv.h"

namespace steward::scoring::churn_model {

TableEncoding TelcoEncoding() {
  TableEncoding encoding;
  encoding.label_column = "Churn";
  encoding.positive_label = "Yes";
  encoding.negative_label = "No";
  encoding.numeric_columns = {"SeniorCitizen", "tenure", "MonthlyCharges", "TotalCharges"};
  encoding.blank_numeric_value = 0;  // see the header: only TotalCharges of never-billed accounts is blank
  encoding.log1p_columns = {"tenure", "TotalCharges"};  // see the header
  encoding.categorical_columns = {"gender",           "Partner",          "Dependents",     "PhoneService",
                                  "MultipleLines",    "InternetService",  "OnlineSecurity", "OnlineBackup",
                                  "DeviceProtection", "TechSupport",      "StreamingTV",    "StreamingMovies",
                                  "Contract",         "PaperlessBilling", "PaymentMethod"};
  return encoding;
}

absl::StatusOr<LabeledData> LoadTelcoChurn(const std::string& csv_path) {
  absl::StatusOr<std::string> text = ReadFileToString(csv_path);
  if (!text.ok()) return text.status();
  absl::StatusOr<CsvTable> table = ParseCsv(*text);
  if (!table.ok()) return table.status();
  return EncodeTable(*table, TelcoEncoding());
}

}  // namespace steward::scoring::churn_model
