#include "services/scoring/model/lifetime_value.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"

namespace steward::scoring {
namespace {

// Keeps derived churn rates away from 0, where every 1/m formula would be infinite.
constexpr double kMonthlyChurnFloor = 0.001;

// A number as expressions show it: money and counts with at most four decimals, small rates with six
// significant digits, trailing zeros dropped ("100", "0.8", "0.00426341").
std::string Num(double value) {
  std::string text = std::abs(value) >= 1 ? absl::StrFormat("%.4f", value) : absl::StrFormat("%.6g", value);
  if (text.find('.') != std::string::npos && text.find('e') == std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  return text;
}

void AddEstimate(v1::LifetimeValue& clv, absl::string_view formula, std::string expression, double value,
                 absl::string_view note) {
  v1::ClvEstimate* estimate = clv.add_estimates();
  estimate->set_formula(std::string(formula));
  if (!note.empty()) absl::StrAppend(&expression, " ", note);
  estimate->set_expression(std::move(expression));
  estimate->set_value(value);
}

}  // namespace

void ComputeLifetimeValue(const v1::Account& account, double churn_probability, v1::LifetimeValue& clv) {
  clv.Clear();

  double monthly = 0;
  std::string note;  // appended to every expression when the churn rate was floored
  if (account.monthly_churn_rate() > 0) {
    monthly = std::min(account.monthly_churn_rate(), 1.0);
    clv.set_churn_rate_source("account");
  } else {
    // NaN compares false everywhere and ends up as 0, i.e. at the floor below.
    double p = churn_probability > 0 ? std::min(churn_probability, 1.0) : 0.0;
    monthly = 1 - std::pow(1 - p, 1.0 / 12);
    clv.set_churn_rate_source("churn_probability");
    if (!(monthly > 0)) {
      monthly = kMonthlyChurnFloor;
      note = absl::StrCat("(monthly churn floored at ", Num(kMonthlyChurnFloor),
                          " because the churn probability is 0)");
    }
  }
  clv.set_monthly_churn_rate(monthly);
  clv.set_annual_churn_rate(1 - std::pow(1 - monthly, 12));

  const double arpu = account.arpu() > 0 ? account.arpu() : std::max(account.mrr(), 0.0);
  const double margin = account.gross_margin();
  const double expansion = account.expansion_rate();
  const std::string m = Num(monthly);

  std::optional<double> ltv;  // the figure the ratios use
  if (arpu > 0 && margin > 0) {
    const std::string basic_expression = absl::StrCat(Num(arpu), " × ", Num(margin), " × (1 / ", m, ")");
    const double basic = arpu * margin * (1 / monthly);
    AddEstimate(clv, "basic", basic_expression, basic, note);
    ltv = basic;
    if (expansion > 0) {
      const double with_expansion = basic * (1 + expansion);
      AddEstimate(clv, "with_expansion", absl::StrCat(basic_expression, " × (1 + ", Num(expansion), ")"),
                  with_expansion, note);
      ltv = with_expansion;
    }
  }
  if (account.average_purchase_value() > 0 && account.purchases_per_year() > 0 &&
      account.expected_lifespan_years() > 0) {
    AddEstimate(
        clv, "purchase_based",
        absl::StrCat(Num(account.average_purchase_value()), " × ", Num(account.purchases_per_year()), " × ",
                     Num(account.expected_lifespan_years())),
        account.average_purchase_value() * account.purchases_per_year() * account.expected_lifespan_years(),
        "");
  }
  if (arpu > 0) AddEstimate(clv, "simple", absl::StrCat(Num(arpu), " / ", m), arpu / monthly, note);
  if (arpu > 0 && margin > 0) {
    const double annual_discount = std::max(account.annual_discount_rate(), 0.0);
    const double discount = std::pow(1 + annual_discount, 1.0 / 12) - 1;
    std::string expression =
        absl::StrCat(Num(arpu), " × ", Num(margin), " / (", m, " + ", Num(discount), ")");
    double value = arpu * margin / (monthly + discount);
    if (account.cac() > 0) {
      absl::StrAppend(&expression, " − ", Num(account.cac()));
      value -= account.cac();
    } else {
      absl::StrAppend(&expression, " (CAC unknown, not subtracted)");
    }
    AddEstimate(clv, "realistic", std::move(expression), value, note);
  }

  if (ltv.has_value() && account.cac() > 0) clv.set_ltv_to_cac(*ltv / account.cac());
  if (ltv.has_value() && account.cost_of_retention() > 0) {
    clv.set_ltv_to_crc(*ltv / account.cost_of_retention());
  }
}

}  // namespace steward::scoring
