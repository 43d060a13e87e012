#include "services/playbooks/engine/account_facts.h"

#include <utility>

namespace steward::playbooks {

absl::StatusOr<AccountFactsMap> AccountFactsSource::LoadMany(absl::Span<const std::string> account_ids) const {
  AccountFactsMap out;
  for (const std::string& id : account_ids) {
    auto facts = Load(id);
    if (absl::IsNotFound(facts.status())) continue;
    if (!facts.ok()) return facts.status();
    out.emplace(id, *std::move(facts));
  }
  return out;
}

}  // namespace steward::playbooks
