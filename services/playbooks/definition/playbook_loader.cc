#include "services/playbooks/definition/playbook_loader.h"

#include <algorithm>
#include <filesystem>
#include <optional>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "common/field_error.h"
#include "common/text_config.h"
#include "services/segmentation/rules/rule.h"

namespace steward::playbooks {
namespace {

using ::google::protobuf::RepeatedPtrField;
using text_config::FieldRef;
using text_config::Node;
using text_config::Reporter;
using text_config::TextFormat;

bool OnlyChars(const std::string& s, absl::string_view extra) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || extra.find(c) != absl::string_view::npos)) {
      return false;
    }
  }
  return true;
}

// Reports `value` at `ref` unless it is made of [a-z0-9] and `extra`.
bool CheckName(Reporter& r, const FieldRef& ref, const std::string& value, absl::string_view extra) {
  if (OnlyChars(value, extra)) return true;
  r.Error(ref, absl::StrCat("must be made of [a-z0-9", extra, "]+, got \"", value, "\""));
  return false;
}

void CheckContentKey(Reporter& r, const FieldRef& ref, const std::string& value, bool required = true) {
  if (value.empty() && !required) return;
  if (value.empty()) {
    r.Error(ref, "a content key is required");
  } else {
    CheckName(r, ref, value, "_.-");
  }
}

void CheckRequiredText(Reporter& r, const FieldRef& ref, const std::string& value) {
  if (value.empty()) r.Error(ref, "is required");
}

void CheckPercent(Reporter& r, const FieldRef& ref, double value) {
  if (!(value >= 0 && value <= 100)) r.Error(ref, absl::StrCat("must be a percent 0..100, got ", value));
}

void CheckNonNegative(Reporter& r, const FieldRef& ref, int64_t value) {
  if (value < 0) r.Error(ref, absl::StrCat("must be >= 0, got ", value));
}

void CheckPositive(Reporter& r, const FieldRef& ref, int64_t value) {
  if (value <= 0) r.Error(ref, absl::StrCat("must be > 0, got ", value));
}

// Where the rule compiler's error `path` (e.g. "steps[2].condition.all.rules[1].compare.field") is in
// the file: its field when the file has it, else the nearest enclosing message that the file has.
TextFormat::ParseLocation LocateRulePath(Reporter& r, const Node& rule_node, absl::string_view path) {
  TextFormat::ParseLocation location = rule_node.location;
  if (!absl::StartsWith(path, rule_node.path)) return location;
  absl::string_view rest = path.substr(rule_node.path.size());
  if (!absl::ConsumePrefix(&rest, ".")) return location;
  std::vector<absl::string_view> parts = absl::StrSplit(rest, '.');
  Node node = rule_node;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (node.descriptor == nullptr) break;
    absl::string_view name = parts[i];
    int index = -1;
    if (std::size_t open = name.find('['); open != absl::string_view::npos && absl::EndsWith(name, "]")) {
      if (!absl::SimpleAtoi(name.substr(open + 1, name.size() - open - 2), &index)) break;
      name = name.substr(0, open);
    }
    if (i + 1 == parts.size()) return r.Field(node, name, index).location;
    node = r.Nested(node, name, index);
    if (node.location.line >= 0) location = node.location;
  }
  return location;
}

// Compiles the rule in field `name` of `parent` with the segment rule compiler; its error is reported
// with the compiler's path and message, at the offending part's position.
void CheckRule(Reporter& r, const Node& parent, absl::string_view name, const v1::Rule& rule) {
  const Node node = r.Nested(parent, name);
  absl::Status status = segmentation::CompiledRule::Compile(rule, node.path).status();
  if (status.ok()) return;
  std::optional<std::string> field = ErrorField(status);
  std::string path = field.value_or(node.path);
  absl::string_view message = status.message();
  absl::ConsumePrefix(&message, absl::StrCat(path, ": "));
  r.Error(FieldRef{path, LocateRulePath(r, node, path)}, message);
}

std::string DescribeOffset(int64_t hours) {
  if (hours % 24 == 0) return absl::StrCat("day ", hours / 24);
  return absl::StrCat("day ", hours / 24, " + ", hours % 24, " h");
}

void CheckDelay(Reporter& r, const Node& step_node, const v1::Delay& delay) {
  const Node node = r.Nested(step_node, "delay");
  CheckNonNegative(r, r.Field(node, "days"), delay.days());
  CheckNonNegative(r, r.Field(node, "hours"), delay.hours());
  if (!v1::DelayReference_IsValid(delay.relative_to())) {
    r.Error(r.Field(node, "relative_to"), absl::StrCat("unknown reference ", delay.relative_to()));
  }
  if (delay.has_window()) {
    const v1::LocalWindow& window = delay.window();
    const Node w = r.Nested(node, "window");
    bool hours_ok = true;
    if (window.start_hour() < 0 || window.start_hour() > 23) {
      r.Error(r.Field(w, "start_hour"), absl::StrCat("must be 0..23, got ", window.start_hour()));
      hours_ok = false;
    }
    if (window.end_hour() < 1 || window.end_hour() > 24) {
      r.Error(r.Field(w, "end_hour"), absl::StrCat("must be 1..24, got ", window.end_hour()));
      hours_ok = false;
    }
    if (hours_ok && window.end_hour() <= window.start_hour()) {
      r.Error(r.Field(w, "end_hour"), absl::StrCat("must be greater than start_hour ", window.start_hour(),
                                                   ", got ", window.end_hour()));
    }
    absl::TimeZone zone;
    if (!window.time_zone().empty() && !absl::LoadTimeZone(window.time_zone(), &zone)) {
      r.Error(r.Field(w, "time_zone"), absl::StrCat("unknown time zone \"", window.time_zone(), "\""));
    }
  }
  absl::flat_hash_set<int> weekdays;
  for (int i = 0; i < delay.weekdays_size(); ++i) {
    const int day = delay.weekdays(i);
    // Elements written in list syntax ([A, B]) have no position of their own: point at the list.
    FieldRef ref = r.Field(node, "weekdays", i);
    if (ref.location.line == node.location.line && ref.location.column == node.location.column) {
      ref.location = r.Field(node, "weekdays").location;
    }
    if (day == v1::WEEKDAY_UNSPECIFIED || !v1::Weekday_IsValid(day)) {
      r.Error(ref, absl::StrCat("must be WEEKDAY_MONDAY..WEEKDAY_SUNDAY, got ", day));
    } else if (!weekdays.insert(day).second) {
      r.Error(ref, absl::StrCat("duplicate weekday ", v1::Weekday_Name(delay.weekdays(i))));
    }
  }
}

void CheckOffer(Reporter& r, const Node& parent, absl::string_view name, const v1::OfferAction& offer) {
  const Node n = r.Nested(parent, name);
  CheckName(r, r.Field(n, "offer_id"), offer.offer_id(), "_.-");
  CheckPercent(r, r.Field(n, "discount_percent"), offer.discount_percent());
  CheckNonNegative(r, r.Field(n, "duration_months"), offer.duration_months());
  if (offer.discount_percent() > 0 && offer.duration_months() == 0) {
    r.Error(r.Field(n, "duration_months"), "a discount needs a duration > 0");
  }
  CheckNonNegative(r, r.Field(n, "free_months"), offer.free_months());
  CheckNonNegative(r, r.Field(n, "free_feature_days"), offer.free_feature_days());
  CheckContentKey(r, r.Field(n, "content_key"), offer.content_key());
  if (offer.has_referral()) {
    const v1::ReferralTerms& referral = offer.referral();
    const Node rn = r.Nested(n, "referral");
    CheckPercent(r, r.Field(rn, "referred_discount_percent"), referral.referred_discount_percent());
    CheckNonNegative(r, r.Field(rn, "referred_duration_months"), referral.referred_duration_months());
    if (!(referral.credit_per_referral() >= 0)) {
      r.Error(r.Field(rn, "credit_per_referral"),
              absl::StrCat("must be >= 0, got ", referral.credit_per_referral()));
    }
  }
  if (!(offer.discount_percent() > 0) && offer.free_months() <= 0 && offer.free_feature_days() <= 0 &&
      !offer.has_referral()) {
    r.Error(r.Field(parent, name),
            "offers nothing: set discount_percent, free_months, free_feature_days or referral");
  }
}

void CheckAction(Reporter& r, const Node& node, const v1::Step& step) {
  switch (step.action_case()) {
    case v1::Step::kEmail: {
      const Node n = r.Nested(node, "email");
      CheckContentKey(r, r.Field(n, "template_key"), step.email().template_key());
      CheckContentKey(r, r.Field(n, "subject_key"), step.email().subject_key());
      if (step.email().has_offer()) CheckOffer(r, n, "offer", step.email().offer());
      break;
    }
    case v1::Step::kInApp: {
      const Node n = r.Nested(node, "in_app");
      CheckContentKey(r, r.Field(n, "message_key"), step.in_app().message_key());
      if (step.in_app().has_offer()) CheckOffer(r, n, "offer", step.in_app().offer());
      break;
    }
    case v1::Step::kTask: {
      const v1::TaskAction& task = step.task();
      const Node n = r.Nested(node, "task");
      CheckName(r, r.Field(n, "assignee_role"), task.assignee_role(), "_");
      CheckRequiredText(r, r.Field(n, "title"), task.title());
      CheckPositive(r, r.Field(n, "due_in_hours"), task.due_in_hours());
      CheckPositive(r, r.Field(n, "sla_hours"), task.sla_hours());
      if (task.due_in_hours() > 0 && task.sla_hours() > 0 && task.sla_hours() < task.due_in_hours()) {
        r.Error(r.Field(n, "sla_hours"),
                absl::StrCat("must be >= due_in_hours ", task.due_in_hours(), ", got ", task.sla_hours()));
      }
      CheckContentKey(r, r.Field(n, "instructions_key"), task.instructions_key(), /*required=*/false);
      break;
    }
    case v1::Step::kCall: {
      const v1::CallAction& call = step.call();
      const Node n = r.Nested(node, "call");
      CheckName(r, r.Field(n, "assignee_role"), call.assignee_role(), "_");
      CheckRequiredText(r, r.Field(n, "purpose"), call.purpose());
      CheckPositive(r, r.Field(n, "due_in_hours"), call.due_in_hours());
      CheckContentKey(r, r.Field(n, "script_key"), call.script_key(), /*required=*/false);
      break;
    }
    case v1::Step::kOffer:
      CheckOffer(r, node, "offer", step.offer());
      break;
    case v1::Step::kWebhook: {
      const Node n = r.Nested(node, "webhook");
      const std::string& url = step.webhook().url();
      if (!absl::StartsWith(url, "https://") && !absl::StartsWith(url, "http://")) {
        r.Error(r.Field(n, "url"), absl::StrCat("must start with https:// or http://, got \"", url, "\""));
      }
      CheckName(r, r.Field(n, "event_name"), step.webhook().event_name(), "_.-");
      break;
    }
    case v1::Step::ACTION_NOT_SET:
      r.Error(r.Field(node, "id"), "an action is required: email, in_app, task, call, offer or webhook");
      break;
  }
}

void CheckWait(Reporter& r, const Node& step_node, const v1::WaitForEvent& wait,
               const absl::flat_hash_map<std::string, int>& step_ids) {
  const Node node = r.Nested(step_node, "wait_for_event");
  if (wait.event_types_size() == 0 && wait.outcomes_size() == 0) {
    r.Error(r.Field(step_node, "wait_for_event"), "needs at least one of event_types or outcomes");
  }
  for (int i = 0; i < wait.event_types_size(); ++i) {
    const int type = wait.event_types(i);
    if (type == v1::EVENT_TYPE_UNSPECIFIED || !v1::EventType_IsValid(type)) {
      r.Error(r.Field(node, "event_types", i), absl::StrCat("an event type is required, got ", type));
    }
  }
  for (int i = 0; i < wait.outcomes_size(); ++i) {
    const int outcome = wait.outcomes(i);
    if (outcome == v1::ACTION_OUTCOME_UNSPECIFIED || !v1::ActionOutcome_IsValid(outcome)) {
      r.Error(r.Field(node, "outcomes", i), absl::StrCat("an action outcome is required, got ", outcome));
    }
  }
  for (int i = 0; i < wait.outcome_step_ids_size(); ++i) {
    if (!step_ids.contains(wait.outcome_step_ids(i))) {
      r.Error(r.Field(node, "outcome_step_ids", i),
              absl::StrCat("no step \"", wait.outcome_step_ids(i), "\""));
    }
  }
  CheckPositive(r, r.Field(node, "within_days"), wait.within_days());
  if (wait.on_timeout_go_to().empty()) {
    r.Error(r.Field(node, "on_timeout_go_to"), "the step to go to on timeout is required");
  } else if (!step_ids.contains(wait.on_timeout_go_to())) {
    r.Error(r.Field(node, "on_timeout_go_to"), absl::StrCat("no step \"", wait.on_timeout_go_to(), "\""));
  }
  if (!wait.on_event_go_to().empty() && !step_ids.contains(wait.on_event_go_to())) {
    r.Error(r.Field(node, "on_event_go_to"), absl::StrCat("no step \"", wait.on_event_go_to(), "\""));
  }
}

// A step whose delay is nothing once reached again: relative to enrolment (already passed on a second
// visit) or zero after the previous step.
bool RunsWithoutDelay(const v1::Step& step) {
  return step.delay().relative_to() != v1::DELAY_REFERENCE_PREVIOUS_STEP ||
         (step.delay().days() <= 0 && step.delay().hours() <= 0);
}

// Refuses a cycle of steps (through branches) that could run round without time passing: every step
// on it runs without delay and every edge is a fall-through or an event branch (a timeout takes time).
void CheckCycles(Reporter& r, const Node& parent, absl::string_view name,
                 const RepeatedPtrField<v1::Step>& steps,
                 const absl::flat_hash_map<std::string, int>& step_ids) {
  const int n = steps.size();
  std::vector<std::vector<int>> edges(n);
  for (int i = 0; i < n; ++i) {
    std::vector<int> targets;
    if (steps[i].has_wait_for_event()) {
      const v1::WaitForEvent& wait = steps[i].wait_for_event();
      if (auto it = step_ids.find(wait.on_event_go_to()); it != step_ids.end()) targets.push_back(it->second);
      if (wait.within_days() <= 0) {
        if (auto it = step_ids.find(wait.on_timeout_go_to()); it != step_ids.end()) {
          targets.push_back(it->second);
        }
      }
    } else if (i + 1 < n) {
      targets.push_back(i + 1);
    }
    for (int t : targets) {
      if (RunsWithoutDelay(steps[t])) edges[i].push_back(t);
    }
  }
  // Iterative depth-first search; 0 unvisited, 1 on the stack, 2 done.
  std::vector<int> state(n, 0);
  std::vector<int> parent_of(n, -1);
  for (int start = 0; start < n; ++start) {
    if (state[start] != 0) continue;
    std::vector<std::pair<int, std::size_t>> stack = {{start, 0}};
    state[start] = 1;
    while (!stack.empty()) {
      auto& [u, next] = stack.back();
      if (next == edges[u].size()) {
        state[u] = 2;
        stack.pop_back();
        continue;
      }
      const int v = edges[u][next++];
      if (state[v] == 0) {
        state[v] = 1;
        parent_of[v] = u;
        stack.push_back({v, 0});
      } else if (state[v] == 1) {
        std::vector<std::string> cycle = {steps[v].id()};
        std::vector<std::string> back;
        for (int w = u; w != v && w >= 0; w = parent_of[w]) back.push_back(steps[w].id());
        cycle.insert(cycle.end(), back.rbegin(), back.rend());
        cycle.push_back(steps[v].id());
        r.Error(r.Field(r.Nested(parent, name, u), "wait_for_event"),
                absl::StrCat("steps ", absl::StrJoin(cycle, " -> "),
                             " form a cycle that can run without any delay; give one of them a delay"));
        return;
      }
    }
  }
}

void CheckSteps(Reporter& r, const Node& parent, absl::string_view name,
                const RepeatedPtrField<v1::Step>& steps, int start_delay_days) {
  if (steps.empty()) {
    r.Error(r.Field(parent, name), "at least one step is required");
    return;
  }
  absl::flat_hash_map<std::string, int> step_ids;
  for (int i = 0; i < steps.size(); ++i) {
    const FieldRef ref = r.Field(r.Nested(parent, name, i), "id");
    if (CheckName(r, ref, steps[i].id(), "_-") && !step_ids.emplace(steps[i].id(), i).second) {
      r.Error(ref, absl::StrCat("duplicate step id \"", steps[i].id(), "\""));
    }
  }
  const std::vector<int64_t> offsets = NominalOffsetsHours(steps);
  for (int i = 0; i < steps.size(); ++i) {
    const v1::Step& step = steps[i];
    const Node node = r.Nested(parent, name, i);
    CheckDelay(r, node, step.delay());
    if (i > 0 && offsets[i] < offsets[i - 1]) {
      r.Error(r.Field(node, "delay"),
              absl::StrCat("due at ", DescribeOffset(offsets[i]), ", before the previous step (",
                           DescribeOffset(offsets[i - 1]), "); list steps in order"));
    } else if (offsets[i] < int64_t{24} * start_delay_days) {
      r.Error(r.Field(node, "delay"),
              absl::StrCat("due at ", DescribeOffset(offsets[i]), ", before the playbook's start_delay_days ",
                           start_delay_days));
    }
    CheckAction(r, node, step);
    if (step.has_condition()) CheckRule(r, node, "condition", step.condition());
    if (step.has_wait_for_event()) CheckWait(r, node, step.wait_for_event(), step_ids);
  }
  CheckCycles(r, parent, name, steps, step_ids);
}

void CheckPlaybook(const v1::Playbook& playbook, const Node& root, Reporter& r,
                   const std::optional<std::string>& expected_id) {
  const FieldRef id_ref = r.Field(root, "id");
  if (CheckName(r, id_ref, playbook.id(), "-") && expected_id.has_value() && playbook.id() != *expected_id) {
    r.Error(id_ref,
            absl::StrCat("must equal the file's name \"", *expected_id, "\", got \"", playbook.id(), "\""));
  }
  if (playbook.version() < 1) {
    r.Error(r.Field(root, "version"), absl::StrCat("must be >= 1, got ", playbook.version()));
  }
  CheckRequiredText(r, r.Field(root, "display_name"), playbook.display_name());

  for (int i = 0; i < playbook.triggers_size(); ++i) {
    const v1::EnrollmentTrigger& trigger = playbook.triggers(i);
    const Node node = r.Nested(root, "triggers", i);
    if (!trigger.has_condition()) {
      r.Error(r.Field(root, "triggers", i), "a condition is required");
    } else {
      CheckRule(r, node, "condition", trigger.condition());
    }
    CheckNonNegative(r, r.Field(node, "sustained_days"), trigger.sustained_days());
  }

  absl::flat_hash_set<std::string> exit_names;
  for (int i = 0; i < playbook.exits_size(); ++i) {
    const v1::ExitCriterion& exit = playbook.exits(i);
    const Node node = r.Nested(root, "exits", i);
    const FieldRef name_ref = r.Field(node, "name");
    if (CheckName(r, name_ref, exit.name(), "_-") && !exit_names.insert(exit.name()).second) {
      r.Error(name_ref, absl::StrCat("duplicate exit name \"", exit.name(), "\""));
    }
    switch (exit.when_case()) {
      case v1::ExitCriterion::kRule:
        CheckRule(r, node, "rule", exit.rule());
        break;
      case v1::ExitCriterion::kEventType:
        if (exit.event_type() == v1::EVENT_TYPE_UNSPECIFIED || !v1::EventType_IsValid(exit.event_type())) {
          r.Error(r.Field(node, "event_type"),
                  absl::StrCat("an event type is required, got ", exit.event_type()));
        }
        break;
      case v1::ExitCriterion::kOutcome:
        if (exit.outcome() == v1::ACTION_OUTCOME_UNSPECIFIED || !v1::ActionOutcome_IsValid(exit.outcome())) {
          r.Error(r.Field(node, "outcome"),
                  absl::StrCat("an action outcome is required, got ", exit.outcome()));
        }
        break;
      case v1::ExitCriterion::WHEN_NOT_SET:
        r.Error(r.Field(root, "exits", i), "needs one of rule, event_type or outcome");
        break;
    }
  }

  const v1::ReenrollmentPolicy& policy = playbook.reenrollment();
  const Node policy_node = r.Nested(root, "reenrollment");
  if (policy.mode() == v1::REENROLLMENT_MODE_UNSPECIFIED || !v1::ReenrollmentMode_IsValid(policy.mode())) {
    r.Error(playbook.has_reenrollment() ? r.Field(policy_node, "mode") : r.Field(root, "reenrollment"),
            "a re-enrolment policy is required: REENROLLMENT_MODE_NEVER, _AFTER_COOLDOWN or _ALWAYS");
  } else if (policy.mode() == v1::REENROLLMENT_MODE_AFTER_COOLDOWN) {
    CheckPositive(r, r.Field(policy_node, "cooldown_days"), policy.cooldown_days());
  } else if (policy.cooldown_days() != 0) {
    r.Error(r.Field(policy_node, "cooldown_days"), "only REENROLLMENT_MODE_AFTER_COOLDOWN takes a cooldown");
  }

  CheckNonNegative(r, r.Field(root, "start_delay_days"), playbook.start_delay_days());
  CheckSteps(r, root, "steps", playbook.steps(), playbook.start_delay_days());

  absl::flat_hash_set<std::string> variant_ids;
  for (int i = 0; i < playbook.variants_size(); ++i) {
    const v1::Variant& variant = playbook.variants(i);
    const Node node = r.Nested(root, "variants", i);
    const FieldRef ref = r.Field(node, "id");
    if (CheckName(r, ref, variant.id(), "_-") && !variant_ids.insert(variant.id()).second) {
      r.Error(ref, absl::StrCat("duplicate variant id \"", variant.id(), "\""));
    }
    CheckPositive(r, r.Field(node, "weight"), variant.weight());
    if (!variant.steps().empty()) CheckSteps(r, node, "steps", variant.steps(), playbook.start_delay_days());
  }
  if (playbook.holdout_percent() < 0 || playbook.holdout_percent() > 100) {
    r.Error(r.Field(root, "holdout_percent"),
            absl::StrCat("must be 0..100, got ", playbook.holdout_percent()));
  }
}

absl::StatusOr<v1::Playbook> LoadPlaybookFile(const std::string& path,
                                              const std::optional<std::string>& expected_id) {
  return text_config::LoadFile<v1::Playbook>(
      path, [&](const v1::Playbook& playbook, const Node& root, Reporter& r) {
        CheckPlaybook(playbook, root, r, expected_id);
      });
}

}  // namespace

absl::StatusOr<v1::Playbook> LoadPlaybook(const std::string& path) {
  return LoadPlaybookFile(path, std::nullopt);
}

absl::Status ValidatePlaybook(const v1::Playbook& playbook, absl::string_view source) {
  return text_config::Validate(playbook, source, [](const v1::Playbook& p, const Node& root, Reporter& r) {
    CheckPlaybook(p, root, r, std::nullopt);
  });
}

absl::StatusOr<std::vector<v1::Playbook>> LoadPlaybookDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return absl::NotFoundError(absl::StrCat(dir, ": no such directory"));
  // Sorted so that the same broken directory always reports the same file first.
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".textproto" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat(dir, ": cannot be listed: ", ec.message()));
  std::sort(files.begin(), files.end());

  // File names are unique in a directory and each must equal its playbook's id, so ids are unique too.
  std::vector<v1::Playbook> playbooks;
  for (const fs::path& file : files) {
    absl::StatusOr<v1::Playbook> playbook = LoadPlaybookFile(file.string(), file.stem().string());
    if (!playbook.ok()) return playbook.status();
    playbooks.push_back(*std::move(playbook));
  }
  return playbooks;
}

v1::Channel StepChannel(const v1::Step& step) {
  switch (step.action_case()) {
    case v1::Step::kEmail:
      return v1::CHANNEL_EMAIL;
    case v1::Step::kInApp:
      return v1::CHANNEL_IN_APP;
    case v1::Step::kTask:
      return v1::CHANNEL_TASK;
    case v1::Step::kCall:
      return v1::CHANNEL_CALL;
    case v1::Step::kOffer:
      return v1::CHANNEL_OFFER;
    case v1::Step::kWebhook:
      return v1::CHANNEL_WEBHOOK;
    case v1::Step::ACTION_NOT_SET:
      break;
  }
  return v1::CHANNEL_UNSPECIFIED;
}

std::vector<int64_t> NominalOffsetsHours(const RepeatedPtrField<v1::Step>& steps) {
  std::vector<int64_t> offsets;
  offsets.reserve(steps.size());
  for (const v1::Step& step : steps) {
    const int64_t delay = int64_t{24} * step.delay().days() + step.delay().hours();
    const bool after_previous = step.delay().relative_to() == v1::DELAY_REFERENCE_PREVIOUS_STEP;
    offsets.push_back(after_previous && !offsets.empty() ? offsets.back() + delay : delay);
  }
  return offsets;
}

}  // namespace steward::playbooks
