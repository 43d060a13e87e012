#pragma once

#include <string>

#include "services/playbooks/playbook_client.h"
#include "services/upsell/upsell_service.h"

namespace steward {

// Upsell → playbooks: enrols the account of an open opportunity in `playbook_id` (the upsell offer),
// with the opportunity in the enrolment's context (opportunity_id, trigger_id, and the offer's
// target_plan, target_product, discount_percent and description when set), so that every action carries
// it. Idempotent by request id ("upsell:<opportunity_id>"). An account already in the playbook for another
// opportunity, or one the re-enrolment policy keeps out, is not an error: the opportunity waits (false)
// and is handed over by a later evaluation. A playbook service without that playbook is logged, and the
// opportunity waits too.
upsell::UpsellService::HandOff MakeUpsellOfferHandOff(const playbooks::PlaybookClient& playbooks,
                                                      std::string playbook_id);

}  // namespace steward
