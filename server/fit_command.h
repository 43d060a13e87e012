#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace steward {

// `steward fit`: fits one predictive model offline from a CSV file, so that analysts can try the
// models on an export without a server or a store, and prints the fitted parameters with their fit
// statistics as JSON (the API's own messages: BgNbdModel, GammaGammaModel, SbgCohortModel,
// ChurnClassifierModel of steward/v1/predictive.proto).
//
//   steward fit --data FILE --model bgnbd|gamma-gamma [--calibration_end YYYY-MM-DD] [--days_per_unit 7]
//       FILE is a purchase log with columns masterid, date (yyyymmdd) and sales (CDNOW's cdnowElog.csv);
//       same-day purchases are one transaction; the calibration ends on the log's last day by default.
//   steward fit --data FILE --model sbg [--column alive]
//       FILE has a column of survivors after 0, 1, 2, … periods (counts or fractions).
//   steward fit --data FILE --model churn --label COLUMN [--positive 1] [--negative 0]
//       [--numeric a,b] [--log1p a] [--categorical c,d] [--seed N] [--min_rows 10]
//       FILE is one row per account; the label column holds the positive or negative value.
//
// `args` are the arguments after "fit". Returns the exit code: 0 when the fit was accepted (converged,
// off its bounds, sane), 1 when it was printed but not accepted, 2 for bad arguments or a bad file
// (the message, naming the line, goes to `err`).
int RunFitCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace steward
