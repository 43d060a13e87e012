#include "services/scoring/model/model_config.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/text_config.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"
#include "services/scoring/features.h"

namespace steward::scoring {
namespace {

using ::google::protobuf::Descriptor;
using ::google::protobuf::FieldDescriptor;
using ::google::protobuf::TextFormat;
using text_config::ErrorsToStatus;
using text_config::FieldRef;
using text_config::Node;
using text_config::ParseTextFile;
using text_config::Reporter;
using text_config::RootNode;

// Component and category weights are percentages typed by hand; this much slack absorbs decimal
// fractions such as 33.3 + 33.3 + 33.4 without letting a real mistake through.
constexpr double kWeightSumTolerance = 1e-6;

void CheckPositive(Reporter& r, const FieldRef& ref, double value) {
  // Written as !(value > 0) so that NaN is rejected too; infinity is rejected separately.
  if (!(value > 0) || !std::isfinite(value)) {
    r.Error(ref, absl::StrCat("must be a finite number > 0, got ", value));
  }
}

void CheckFeature(Reporter& r, const FieldRef& ref, const std::string& name) {
  if (name.empty()) {
    r.Error(ref, "a feature name is required");
  } else if (!FeatureByName(name).has_value()) {
    r.Error(ref, absl::StrCat("unknown feature \"", name, "\""));
  }
}

// Records a non-empty name, reporting empty and duplicate ones. `what` names the kind of thing.
void CheckUniqueName(Reporter& r, const FieldRef& ref, const std::string& name, absl::string_view what,
                     absl::flat_hash_set<std::string>& seen) {
  if (name.empty()) {
    r.Error(ref, absl::StrCat("a ", what, " name is required"));
  } else if (!seen.insert(name).second) {
    r.Error(ref, absl::StrCat("duplicate ", what, " name \"", name, "\""));
  }
}

void CheckWeightSum(Reporter& r, const Node& root, absl::string_view field, int count, double total,
                    absl::string_view what) {
  if (count == 0 || std::abs(total - 100) <= kWeightSumTolerance) return;
  r.Error(r.Field(root, field), absl::StrCat(what, " weights add up to ", total, ", not 100"));
}

void CheckCondition(Reporter& r, const Node& parent, absl::string_view field, int index,
                    const v1::Condition& condition, bool present) {
  if (!present) {
    r.Error(r.Field(parent, field, index), "a condition is required");
    return;
  }
  Node node = r.Nested(parent, field, index);
  CheckFeature(r, r.Field(node, "feature"), condition.feature());
  if (condition.comparison() == v1::COMPARISON_UNSPECIFIED ||
      !v1::Comparison_IsValid(condition.comparison())) {
    r.Error(r.Field(node, "comparison"),
            "a comparison is required (COMPARISON_LESS, COMPARISON_LESS_OR_EQUAL, COMPARISON_GREATER or "
            "COMPARISON_GREATER_OR_EQUAL)");
  }
  if (!std::isfinite(condition.threshold())) {
    r.Error(r.Field(node, "threshold"), absl::StrCat("must be finite, got ", condition.threshold()));
  }
}

void CheckScoringModel(const v1::ScoringModel& model, const Node& root, Reporter& r) {
  if (model.name().empty()) r.Error(r.Field(root, "name"), "a model name is required");

  if (model.components_size() == 0) {
    r.Error(r.Field(root, "components"), "at least one component is required");
  }
  absl::flat_hash_set<std::string> component_names;
  double total_weight = 0;
  for (int i = 0; i < model.components_size(); ++i) {
    const v1::ModelComponent& component = model.components(i);
    Node node = r.Nested(root, "components", i);
    CheckUniqueName(r, r.Field(node, "name"), component.name(), "component", component_names);
    CheckPositive(r, r.Field(node, "weight"), component.weight());
    total_weight += component.weight();
    if (component.inputs_size() == 0) r.Error(r.Field(node, "inputs"), "at least one input is required");
    for (int j = 0; j < component.inputs_size(); ++j) {
      const v1::ModelInput& input = component.inputs(j);
      Node input_node = r.Nested(node, "inputs", j);
      CheckFeature(r, r.Field(input_node, "feature"), input.feature());
      CheckPositive(r, r.Field(input_node, "weight"), input.weight());
      const v1::Normalization& normalize = input.normalize();
      Node normalize_node = r.Nested(input_node, "normalize");
      if (!std::isfinite(normalize.low())) {
        r.Error(r.Field(normalize_node, "low"), absl::StrCat("must be finite, got ", normalize.low()));
      }
      if (!std::isfinite(normalize.high())) {
        r.Error(r.Field(normalize_node, "high"), absl::StrCat("must be finite, got ", normalize.high()));
      }
      if (normalize.low() == normalize.high()) {
        r.Error(r.Field(input_node, "normalize"),
                absl::StrCat("low and high must differ (both are ", normalize.low(), ")"));
      }
    }
  }
  CheckWeightSum(r, root, "components", model.components_size(), total_weight, "component");

  if (model.bands_size() == 0) r.Error(r.Field(root, "bands"), "at least one band is required");
  absl::flat_hash_set<std::string> band_names;
  absl::flat_hash_set<double> min_scores;
  bool has_zero = false;
  for (int i = 0; i < model.bands_size(); ++i) {
    const v1::ModelBand& band = model.bands(i);
    Node node = r.Nested(root, "bands", i);
    CheckUniqueName(r, r.Field(node, "name"), band.name(), "band", band_names);
    FieldRef min_ref = r.Field(node, "min_score");
    if (!std::isfinite(band.min_score()) || band.min_score() < 0) {
      r.Error(min_ref, absl::StrCat("must be a finite number >= 0, got ", band.min_score()));
    } else if (!min_scores.insert(band.min_score()).second) {
      r.Error(min_ref, absl::StrCat("another band already starts at ", band.min_score()));
    }
    if (band.min_score() == 0) has_zero = true;
  }
  if (model.bands_size() > 0 && !has_zero) {
    r.Error(r.Field(root, "bands"), "one band must have min_score 0 so that every score has a band");
  }

  for (int i = 0; i < model.bonuses_size(); ++i) {
    const v1::ModelBonus& bonus = model.bonuses(i);
    Node node = r.Nested(root, "bonuses", i);
    CheckFeature(r, r.Field(node, "feature"), bonus.feature());
    CheckPositive(r, r.Field(node, "points_per_unit"), bonus.points_per_unit());
    CheckPositive(r, r.Field(node, "max_points"), bonus.max_points());
  }
}

void CheckChurnModel(const v1::ChurnModel& model, const Node& root, Reporter& r) {
  if (model.categories_size() == 0) r.Error(r.Field(root, "categories"), "at least one category is required");
  absl::flat_hash_set<std::string> category_names;
  double total_weight = 0;
  for (int i = 0; i < model.categories_size(); ++i) {
    const v1::ChurnCategory& category = model.categories(i);
    Node node = r.Nested(root, "categories", i);
    CheckUniqueName(r, r.Field(node, "name"), category.name(), "category", category_names);
    CheckPositive(r, r.Field(node, "weight"), category.weight());
    total_weight += category.weight();
  }
  CheckWeightSum(r, root, "categories", model.categories_size(), total_weight, "category");

  absl::flat_hash_set<std::string> signal_names;
  absl::flat_hash_set<std::string> categories_with_signals;
  for (int i = 0; i < model.signals_size(); ++i) {
    const v1::ChurnSignalRule& signal = model.signals(i);
    Node node = r.Nested(root, "signals", i);
    CheckUniqueName(r, r.Field(node, "name"), signal.name(), "signal", signal_names);
    if (!category_names.contains(signal.category())) {
      r.Error(r.Field(node, "category"), absl::StrCat("unknown category \"", signal.category(), "\""));
    } else {
      categories_with_signals.insert(signal.category());
    }
    CheckCondition(r, node, "condition", -1, signal.condition(), signal.has_condition());
    CheckPositive(r, r.Field(node, "weight"), signal.weight());
  }
  for (int i = 0; i < model.categories_size(); ++i) {
    const std::string& name = model.categories(i).name();
    if (!name.empty() && !categories_with_signals.contains(name)) {
      r.Error(r.Field(r.Nested(root, "categories", i), "name"),
              absl::StrCat("category \"", name, "\" has no signal"));
    }
  }

  if (model.levels_size() == 0) r.Error(r.Field(root, "levels"), "at least one level is required");
  absl::flat_hash_set<std::string> level_names;
  absl::flat_hash_set<int> level_counts;
  bool has_zero = false;
  bool levels_ok = true;  // the monotonicity check only makes sense on levels that are each valid
  for (int i = 0; i < model.levels_size(); ++i) {
    const v1::ChurnLevelRule& level = model.levels(i);
    Node node = r.Nested(root, "levels", i);
    CheckUniqueName(r, r.Field(node, "name"), level.name(), "level", level_names);
    FieldRef count_ref = r.Field(node, "min_active_signals");
    if (level.min_active_signals() < 0) {
      r.Error(count_ref, absl::StrCat("must be >= 0, got ", level.min_active_signals()));
      levels_ok = false;
    } else if (!level_counts.insert(level.min_active_signals()).second) {
      r.Error(count_ref, absl::StrCat("another level already starts at ", level.min_active_signals()));
      levels_ok = false;
    }
    if (level.min_active_signals() == 0) has_zero = true;
    if (!(level.probability_min() >= 0 && level.probability_min() <= 1)) {
      r.Error(r.Field(node, "probability_min"),
              absl::StrCat("must be in [0, 1], got ", level.probability_min()));
      levels_ok = false;
    }
    if (!(level.probability_max() >= 0 && level.probability_max() <= 1)) {
      r.Error(r.Field(node, "probability_max"),
              absl::StrCat("must be in [0, 1], got ", level.probability_max()));
      levels_ok = false;
    } else if (level.probability_max() < level.probability_min()) {
      r.Error(r.Field(node, "probability_max"),
              absl::StrCat("must be >= probability_min (", level.probability_min(), "), got ",
                           level.probability_max()));
      levels_ok = false;
    }
  }
  if (model.levels_size() > 0 && !has_zero) {
    r.Error(r.Field(root, "levels"),
            "one level must have min_active_signals 0 so that every account has a level");
  }
  if (levels_ok) {
    std::vector<int> order(model.levels_size());
    for (int i = 0; i < model.levels_size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](int a, int b) {
      return model.levels(a).min_active_signals() < model.levels(b).min_active_signals();
    });
    for (std::size_t k = 1; k < order.size(); ++k) {
      const v1::ChurnLevelRule& previous = model.levels(order[k - 1]);
      const v1::ChurnLevelRule& level = model.levels(order[k]);
      if (level.probability_min() < previous.probability_max()) {
        r.Error(r.Field(r.Nested(root, "levels", order[k]), "probability_min"),
                absl::StrCat("must be >= probability_max (", previous.probability_max(), ") of level \"",
                             previous.name(),
                             "\", which needs fewer active signals; otherwise a signal "
                             "becoming active could lower the churn probability"));
      }
    }
  }

  absl::flat_hash_set<std::string> flag_names;
  for (int i = 0; i < model.red_flags_size(); ++i) {
    const v1::RedFlagRule& flag = model.red_flags(i);
    Node node = r.Nested(root, "red_flags", i);
    CheckUniqueName(r, r.Field(node, "name"), flag.name(), "red flag", flag_names);
    if (flag.conditions_size() == 0) {
      r.Error(r.Field(node, "conditions"), "at least one condition is required");
    }
    for (int j = 0; j < flag.conditions_size(); ++j) {
      CheckCondition(r, node, "conditions", j, flag.conditions(j), /*present=*/true);
    }
    if (!(flag.probability_floor() >= 0 && flag.probability_floor() <= 1)) {
      r.Error(r.Field(node, "probability_floor"),
              absl::StrCat("must be in [0, 1], got ", flag.probability_floor()));
    }
  }
}

absl::StatusOr<v1::ScoringModel> LoadScoringModelFile(const std::string& path,
                                                      std::optional<std::string> expected_name) {
  v1::ScoringModel model;
  TextFormat::ParseInfoTree tree;
  if (absl::Status status = ParseTextFile(path, &model, &tree); !status.ok()) return status;
  Reporter reporter(path);
  Node root = RootNode(v1::ScoringModel::descriptor(), &tree);
  CheckScoringModel(model, root, reporter);
  if (expected_name.has_value() && !model.name().empty() && model.name() != *expected_name) {
    reporter.Error(reporter.Field(root, "name"),
                   absl::StrCat("model name \"", model.name(), "\" must equal the file name's stem \"",
                                *expected_name, "\""));
  }
  if (absl::Status status = ErrorsToStatus(reporter.errors()); !status.ok()) return status;
  return model;
}

}  // namespace

absl::StatusOr<v1::ScoringModel> LoadScoringModel(const std::string& path) {
  return LoadScoringModelFile(path, std::nullopt);
}

absl::StatusOr<v1::ChurnModel> LoadChurnModel(const std::string& path) {
  return text_config::LoadFile<v1::ChurnModel>(path, CheckChurnModel);
}

absl::Status ValidateScoringModel(const v1::ScoringModel& model, absl::string_view source) {
  return text_config::Validate(model, source, CheckScoringModel);
}

absl::Status ValidateChurnModel(const v1::ChurnModel& model, absl::string_view source) {
  return text_config::Validate(model, source, CheckChurnModel);
}

absl::StatusOr<ModelSet> LoadModelDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  const fs::path models_dir = fs::path(dir) / "models";
  std::error_code ec;
  if (!fs::is_directory(models_dir, ec)) {
    return absl::NotFoundError(absl::StrCat(models_dir.string(), ": no such directory"));
  }
  // Sorted so that the same broken directory always reports the same file first.
  std::vector<fs::path> files;
  for (fs::directory_iterator it(models_dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".textproto" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) return absl::NotFoundError(absl::StrCat(models_dir.string(), ": cannot be listed: ", ec.message()));
  std::sort(files.begin(), files.end());

  ModelSet set;
  for (const fs::path& file : files) {
    absl::StatusOr<v1::ScoringModel> model = LoadScoringModelFile(file.string(), file.stem().string());
    if (!model.ok()) return model.status();
    std::string name = model->name();
    set.models.emplace(std::move(name), *std::move(model));
  }
  if (!set.models.contains(set.default_model)) {
    return absl::NotFoundError(absl::StrCat((models_dir / (set.default_model + ".textproto")).string(),
                                            ": no model named \"", set.default_model,
                                            "\"; it is the default model and is required"));
  }

  absl::StatusOr<v1::ChurnModel> churn = LoadChurnModel((fs::path(dir) / "churn.textproto").string());
  if (!churn.ok()) return churn.status();
  set.churn = *std::move(churn);
  return set;
}

}  // namespace steward::scoring
