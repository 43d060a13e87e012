#include "common/metrics/metrics_registry.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace steward::metrics {
namespace {

[[noreturn]] void Fatal(absl::string_view message) {
  std::fprintf(stderr, "metrics: %.*s\n", static_cast<int>(message.size()), message.data());
  std::abort();
}

bool ValidName(absl::string_view name, bool allow_colon) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool ok =
        absl::ascii_isalpha(c) || c == '_' || (allow_colon && c == ':') || (i > 0 && absl::ascii_isdigit(c));
    if (!ok) return false;
  }
  return true;
}

// HELP text escapes only backslash and newline.
std::string EscapeHelp(absl::string_view help) {
  std::string out;
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Header(std::string& out, absl::string_view name, absl::string_view help, absl::string_view type) {
  absl::StrAppend(&out, "# HELP ", name, " ", EscapeHelp(help), "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace

std::string EscapeLabelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buffer[64];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value, std::chars_format::general);
  if (ec != std::errc()) return absl::StrCat(value);
  return std::string(buffer, end);
}

double Gauge::Value() const {
  if (has_callback_.load(std::memory_order_acquire)) {
    absl::MutexLock lock(&mu_);
    return read_();
  }
  return value_.load(std::memory_order_relaxed);
}

void Gauge::SetCallback(std::function<double()> read) {
  absl::MutexLock lock(&mu_);
  read_ = std::move(read);
  has_callback_.store(static_cast<bool>(read_), std::memory_order_release);
}

Histogram::Histogram(absl::Span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()), buckets_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // Upper bounds are inclusive: `le` means less than or equal.
  const size_t bucket = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot snapshot;
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    snapshot.cumulative.push_back(running);
  }
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

template <typename Child>
Child& Family<Child>::WithLabels(absl::Span<const absl::string_view> values) {
  if (values.size() != label_names_.size()) {
    Fatal(absl::StrCat(name_, ": ", values.size(), " label values for ", label_names_.size(), " labels"));
  }
  // Lengths first, so that no value can run into the next ("a,b" + "c" vs "a" + "b,c").
  std::string key;
  for (absl::string_view v : values) absl::StrAppend(&key, v.size(), ":", v, ";");
  {
    absl::ReaderMutexLock lock(&mu_);
    if (auto found = children_.find(key); found != children_.end()) return *found->second.child;
  }
  absl::MutexLock lock(&mu_);
  Entry& entry = children_[key];
  if (entry.child == nullptr) {
    for (absl::string_view v : values) entry.values.emplace_back(v);
    entry.child = NewChild();
  }
  return *entry.child;
}

template <typename Child>
std::vector<std::pair<const std::vector<std::string>*, const Child*>> Family<Child>::Sorted() const {
  std::vector<std::pair<const std::vector<std::string>*, const Child*>> sorted;
  sorted.reserve(children_.size());
  for (const auto& [key, entry] : children_) sorted.emplace_back(&entry.values, entry.child.get());
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return *a.first < *b.first; });
  return sorted;
}

template <typename Child>
std::string Family<Child>::Series(absl::string_view suffix, const std::vector<std::string>& values,
                                  absl::string_view extra_name, absl::string_view extra_value) const {
  std::string out = absl::StrCat(name_, suffix);
  if (values.empty() && extra_name.empty()) return out;
  out += '{';
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    absl::StrAppend(&out, label_names_[i], "=\"", EscapeLabelValue(values[i]), "\"");
  }
  if (!extra_name.empty()) {
    if (!values.empty()) out += ',';
    absl::StrAppend(&out, extra_name, "=\"", EscapeLabelValue(extra_value), "\"");
  }
  out += '}';
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

void CounterFamily::Render(std::string& out) const {
  Header(out, name_, help_, type());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : Sorted()) {
    absl::StrAppend(&out, Series("", *values), " ", child->Value(), "\n");
  }
}

void GaugeFamily::Render(std::string& out) const {
  Header(out, name_, help_, type());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : Sorted()) {
    absl::StrAppend(&out, Series("", *values), " ", FormatValue(child->Value()), "\n");
  }
}

void HistogramFamily::Render(std::string& out) const {
  Header(out, name_, help_, type());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [values, child] : Sorted()) {
    const Histogram::Snapshot snapshot = child->Read();
    for (size_t i = 0; i < bounds_.size(); ++i) {
      absl::StrAppend(&out, Series("_bucket", *values, "le", FormatValue(bounds_[i])), " ",
                      snapshot.cumulative[i], "\n");
    }
    // _count is the +Inf bucket, so the two always agree within one scrape.
    const uint64_t count = snapshot.cumulative.back();
    absl::StrAppend(&out, Series("_bucket", *values, "le", "+Inf"), " ", count, "\n");
    absl::StrAppend(&out, Series("_sum", *values), " ", FormatValue(snapshot.sum), "\n");
    absl::StrAppend(&out, Series("_count", *values), " ", count, "\n");
  }
}

template <typename F, typename... Args>
F& MetricsRegistry::Add(absl::string_view name, std::vector<std::string> label_names, Args&&... args) {
  if (!ValidName(name, /*allow_colon=*/true)) Fatal(absl::StrCat("bad metric name \"", name, "\""));
  for (const std::string& label : label_names) {
    if (!ValidName(label, /*allow_colon=*/false) || label == "le" || label.rfind("__", 0) == 0) {
      Fatal(absl::StrCat(name, ": bad label name \"", label, "\""));
    }
  }
  absl::MutexLock lock(&mu_);
  if (auto found = by_name_.find(name); found != by_name_.end()) {
    auto* existing = dynamic_cast<F*>(found->second);
    if (existing == nullptr || existing->label_names() != label_names) {
      Fatal(absl::StrCat("metric \"", name, "\" added twice with different types or labels"));
    }
    return *existing;
  }
  auto family = std::make_unique<F>(std::string(name), std::forward<Args>(args)..., std::move(label_names));
  F& ref = *family;
  by_name_.emplace(std::string(name), family.get());
  families_.push_back(std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::AddCounter(absl::string_view name, absl::string_view help,
                                           std::vector<std::string> label_names) {
  return Add<CounterFamily>(name, std::move(label_names), std::string(help));
}

GaugeFamily& MetricsRegistry::AddGauge(absl::string_view name, absl::string_view help,
                                       std::vector<std::string> label_names) {
  return Add<GaugeFamily>(name, std::move(label_names), std::string(help));
}

HistogramFamily& MetricsRegistry::AddHistogram(absl::string_view name, absl::string_view help,
                                               std::vector<std::string> label_names,
                                               std::vector<double> bounds) {
  if (bounds.empty() || !std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end()) {
    Fatal(absl::StrCat(name, ": histogram bounds must be strictly increasing"));
  }
  absl::MutexLock lock(&mu_);
  if (auto found = by_name_.find(name); found != by_name_.end()) {
    auto* existing = dynamic_cast<HistogramFamily*>(found->second);
    if (existing == nullptr || existing->label_names() != label_names || existing->bounds() != bounds) {
      Fatal(absl::StrCat("metric \"", name, "\" added twice with different types, labels or buckets"));
    }
    return *existing;
  }
  if (!ValidName(name, /*allow_colon=*/true)) Fatal(absl::StrCat("bad metric name \"", name, "\""));
  for (const std::string& label : label_names) {
    if (!ValidName(label, /*allow_colon=*/false) || label == "le" || label.rfind("__", 0) == 0) {
      Fatal(absl::StrCat(name, ": bad label name \"", label, "\""));
    }
  }
  auto family = std::make_unique<HistogramFamily>(std::string(name), std::string(help),
                                                  std::move(label_names), std::move(bounds));
  HistogramFamily& ref = *family;
  by_name_.emplace(std::string(name), family.get());
  families_.push_back(std::move(family));
  return ref;
}

std::string MetricsRegistry::Render() const {
  std::string out;
  absl::MutexLock lock(&mu_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

}  // namespace steward::metrics
