#include "server/upsell_hand_off.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace steward {

upsell::UpsellService::HandOff MakeUpsellOfferHandOff(const playbooks::PlaybookClient& playbooks,
                                                      std::string playbook_id) {
  return [&playbooks, playbook_id = std::move(playbook_id)](const v1::Opportunity& o) -> absl::StatusOr<bool> {
    v1::EnrollAccountRequest request;
    request.set_account_id(o.account_id());
    request.set_playbook_id(playbook_id);
    request.set_request_id(absl::StrCat("upsell:", o.opportunity_id()));
    auto& context = *request.mutable_context();
    context["opportunity_id"] = o.opportunity_id();
    context["trigger_id"] = o.trigger().trigger_id();
    const v1::UpsellOffer& offer = o.trigger().offer();
    if (!offer.target_plan().empty()) context["target_plan"] = offer.target_plan();
    if (!offer.target_product().empty()) context["target_product"] = offer.target_product();
    if (offer.discount_percent() > 0) context["discount_percent"] = absl::StrCat(offer.discount_percent());
    if (!offer.description().empty()) context["offer"] = offer.description().substr(0, 1000);
    auto enrolled = playbooks.EnrollAccount(request);
    if (enrolled.ok()) return true;  // enrolled now, or by an earlier hand-off with this request id
    if (absl::IsAlreadyExists(enrolled.status()) || absl::IsFailedPrecondition(enrolled.status())) {
      return false;  // the offer is busy with another opportunity, or the re-enrolment policy waits
    }
    if (absl::IsNotFound(enrolled.status())) {
      Log(LogLevel::kWarning, "upsell_offer_not_handed_off",
          {{"opportunity_id", o.opportunity_id()}, {"error", enrolled.status().ToString()}});
      return false;
    }
    return enrolled.status();
  };
}

}  // namespace steward
