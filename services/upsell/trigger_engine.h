#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "steward/v1/account.pb.h"
#include "steward/v1/scores.pb.h"
#include "steward/v1/upsell_config.pb.h"

namespace steward::upsell {

// What the engine knows about one account at one moment. Pointers are borrowed and must outlive the
// call; `scores` may be null when the account has not been scored (then every guard and condition that
// needs a score fails closed: see EvaluateTriggers).
struct AccountSnapshot {
  const v1::Account* account = nullptr;
  const v1::Scores* scores = nullptr;
  // The segments the account is in (SegmentationService ids); informational for now, no shipped trigger
  // reads them.
  std::vector<std::string> segment_ids;
  // The evaluation time: seasonal months are taken from it, in UTC.
  absl::Time now = absl::UnixEpoch();
  // Optional daily history of features, by feature name: one value per UTC day, oldest first, the last
  // one for the day of `now`. The usage trigger reads "feature_share_30d" from it to check that the
  // share was sustained every day; without it the 30-day window stands for "sustained" (see
  // UsageCondition in upsell_config.proto).
  std::map<std::string, std::vector<double>> history;
};

// The outcome of evaluating every trigger for one account.
struct Evaluation {
  // The account is at risk (health below UpsellConfig.at_risk_max_health, churn risk at or above
  // at_risk_churn_level, or no health score to tell): it is routed to retention and nothing fires.
  bool at_risk = false;
  // Why, naming the inputs and thresholds, for example
  // "at risk, routed to retention: health 65 < 70". Empty when not at risk.
  std::string at_risk_reason;
  // The triggers that fired, ranked (rank 1 first): by priority (high first), then by the midpoint of the
  // expected conversion (higher first), then by trigger id.
  std::vector<v1::FiredTrigger> fired;
  // For every trigger that did not fire, in configuration order: (trigger id, why not).
  std::vector<std::pair<std::string, std::string>> not_fired_reasons;
};

// Evaluates every trigger of `config` (which must have passed ValidateUpsellConfig) for one account.
// Pure and deterministic: it reads only its arguments, so it is safe to call from any thread.
//
// Guards first: an account at risk gets no trigger. Then each trigger's condition (see the condition
// messages in upsell_config.proto); an unknown input (a feature absent from Scores.features) means the
// condition does not hold. A `next_plan` offer fires only when the account's plan has a next plan in
// the ladder; a `target_product` offer (cross-sell) only when the account does not have that product
// yet (its plan is named after it or it carries the label "product.<name>"). A churned account gets
// nothing. Cooldowns and "one open opportunity per account and offer" are not checked here: they need
// the opportunities the service stores (see Cooldown).
Evaluation EvaluateTriggers(const v1::UpsellConfig& config, const AccountSnapshot& snapshot);

// How long the service waits, per account, after this trigger's opportunity closed before it may open
// another one: cooldown_days days.
absl::Duration Cooldown(const v1::UpsellTrigger& trigger);

// Whether the account has `product`: its plan is named so, or it carries the label "product.<product>".
bool HasProduct(const v1::Account& account, const std::string& product);

}  // namespace steward::upsell
