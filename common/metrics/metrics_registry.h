#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"

// A small in-process metrics registry rendered in the Prometheus text exposition format (version
// 0.0.4): counters, gauges (set, or read from a callback at scrape time) and histograms with fixed
// buckets, each a family of children told apart by label values.
//
// Hot path: a child (Counter, Gauge, Histogram) is a handful of atomics; updating it takes no lock.
// Finding a child by label values takes its family's reader lock only (never a registry-wide one), so
// callers on hot paths look children up once and keep the pointer: children live as long as the
// registry. Everything here is thread-safe.
namespace steward::metrics {

// The latency buckets of every latency histogram, in seconds: 0.5 ms … 2.5 s.
inline constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                             0.05,   0.1,   0.25,   0.5,   1.0,  2.5};

// A monotonically increasing count.
class Counter {
 public:
  void Increment(uint64_t by = 1) { value_.fetch_add(by, std::memory_order_relaxed); }
  uint64_t Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down, or (SetCallback) one read at scrape time.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  // The value, from the callback when there is one.
  double Value() const;
  // From now on the value is `read()`, called at each scrape (under the family's lock: it must not
  // touch the registry). It must be thread-safe and quick.
  void SetCallback(std::function<double()> read);

 private:
  friend class GaugeFamily;
  std::atomic<double> value_{0};
  mutable absl::Mutex mu_;
  std::function<double()> read_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> has_callback_{false};
};

// Observations counted in fixed buckets (upper bounds, inclusive), with their sum.
class Histogram {
 public:
  explicit Histogram(absl::Span<const double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
  };
  Snapshot Read() const;
  absl::Span<const double> bounds() const { return bounds_; }

 private:
  const std::vector<double> bounds_;
  // Per bucket (not cumulative), the last one for values above every bound.
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;
  std::atomic<double> sum_{0};
};

// What every family shares: its name, help, label names and children by label values.
template <typename Child>
class Family {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names)
      : name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  virtual ~Family() = default;

  // The child with these label values (one per label name, in order), created on first use. A wrong
  // number of values is a programming error: it aborts.
  Child& WithLabels(absl::Span<const absl::string_view> values);
  Child& WithLabels(std::initializer_list<absl::string_view> values) {
    return WithLabels(absl::Span<const absl::string_view>(values.begin(), values.size()));
  }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

 protected:
  virtual std::unique_ptr<Child> NewChild() const = 0;
  // Children sorted by label values, for a stable rendering; called with mu_ held.
  std::vector<std::pair<const std::vector<std::string>*, const Child*>> Sorted() const
      ABSL_SHARED_LOCKS_REQUIRED(mu_);
  // `name{labels}` with the label values of one child (and an extra label, e.g. le).
  std::string Series(absl::string_view suffix, const std::vector<std::string>& values,
                     absl::string_view extra_name = "", absl::string_view extra_value = "") const;

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  mutable absl::Mutex mu_;

 private:
  struct Entry {
    std::vector<std::string> values;
    std::unique_ptr<Child> child;
  };
  // Keyed by the label values joined with a separator that cannot be confused (see Key).
  absl::flat_hash_map<std::string, Entry> children_ ABSL_GUARDED_BY(mu_);
};

// The rendering interface the registry sees.
class RenderedFamily {
 public:
  virtual ~RenderedFamily() = default;
  virtual void Render(std::string& out) const = 0;
  virtual absl::string_view type() const = 0;
  virtual const std::vector<std::string>& labels() const = 0;
};

class CounterFamily final : public Family<Counter>, public RenderedFamily {
 public:
  using Family::Family;
  void Render(std::string& out) const override;
  absl::string_view type() const override { return "counter"; }
  const std::vector<std::string>& labels() const override { return label_names_; }

 private:
  std::unique_ptr<Counter> NewChild() const override { return std::make_unique<Counter>(); }
};

class GaugeFamily final : public Family<Gauge>, public RenderedFamily {
 public:
  using Family::Family;
  void Render(std::string& out) const override;
  absl::string_view type() const override { return "gauge"; }
  const std::vector<std::string>& labels() const override { return label_names_; }

 private:
  std::unique_ptr<Gauge> NewChild() const override { return std::make_unique<Gauge>(); }
};

class HistogramFamily final : public Family<Histogram>, public RenderedFamily {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
      : Family(std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {}
  void Render(std::string& out) const override;
  absl::string_view type() const override { return "histogram"; }
  const std::vector<std::string>& labels() const override { return label_names_; }
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::unique_ptr<Histogram> NewChild() const override { return std::make_unique<Histogram>(bounds_); }
  const std::vector<double> bounds_;
};

// The metrics of one process. Adding a family under a name that exists returns the existing family
// when its type and label names agree (two components may ask for the same family) and aborts when
// they do not (a programming error). Names must match [a-zA-Z_:][a-zA-Z0-9_:]*, label names
// [a-zA-Z_][a-zA-Z0-9_]* (checked; a bad one aborts). Families and children are never removed.
class MetricsRegistry {
 public:
  CounterFamily& AddCounter(absl::string_view name, absl::string_view help,
                            std::vector<std::string> label_names = {});
  GaugeFamily& AddGauge(absl::string_view name, absl::string_view help,
                        std::vector<std::string> label_names = {});
  // Bounds must be strictly increasing (checked).
  HistogramFamily& AddHistogram(absl::string_view name, absl::string_view help,
                                std::vector<std::string> label_names, std::vector<double> bounds);

  // Every family, in the order added, in the text exposition format.
  std::string Render() const;

 private:
  template <typename F, typename... Args>
  F& Add(absl::string_view name, std::vector<std::string> label_names, Args&&... args);

  mutable absl::Mutex mu_;
  std::vector<std::unique_ptr<RenderedFamily>> families_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, RenderedFamily*> by_name_ ABSL_GUARDED_BY(mu_);
};

// Formatting helpers of the exposition format, exposed for tests.
// A label value with \, " and newline escaped.
std::string EscapeLabelValue(absl::string_view value);
// A sample value: shortest round-trip decimal, NaN, +Inf or -Inf.
std::string FormatValue(double value);

}  // namespace steward::metrics
