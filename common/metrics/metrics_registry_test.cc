#include "common/metrics/metrics_registry.h"

#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace steward::metrics {
namespace {

using ::testing::HasSubstr;

TEST(MetricsRegistryTest, RendersCountersWithHelpTypeAndSortedLabels) {
  MetricsRegistry registry;
  CounterFamily& requests =
      registry.AddCounter("requests_total", "Requests\nserved \\ so far.", {"method", "code"});
  requests.WithLabels({"b", "OK"}).Increment(2);
  requests.WithLabels({"a", "OK"}).Increment();
  registry.AddCounter("empty_total", "Nothing yet.");
  EXPECT_EQ(registry.Render(),
            "# HELP requests_total Requests\\nserved \\\\ so far.\n"
            "# TYPE requests_total counter\n"
            "requests_total{method=\"a\",code=\"OK\"} 1\n"
            "requests_total{method=\"b\",code=\"OK\"} 2\n"
            "# HELP empty_total Nothing yet.\n"
            "# TYPE empty_total counter\n");
}

TEST(MetricsRegistryTest, EscapesLabelValues) {
  MetricsRegistry registry;
  registry.AddCounter("c_total", "C.", {"v"}).WithLabels({"a\"b\\c\nd"}).Increment();
  EXPECT_THAT(registry.Render(), HasSubstr("c_total{v=\"a\\\"b\\\\c\\nd\"} 1\n"));
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
}

TEST(MetricsRegistryTest, LabelValuesCannotRunIntoEachOther) {
  MetricsRegistry registry;
  CounterFamily& family = registry.AddCounter("c_total", "C.", {"x", "y"});
  family.WithLabels({"a;", "b"}).Increment();
  family.WithLabels({"a", ";b"}).Increment(5);
  EXPECT_EQ(family.WithLabels({"a;", "b"}).Value(), 1u);
  EXPECT_EQ(family.WithLabels({"a", ";b"}).Value(), 5u);
}

TEST(MetricsRegistryTest, RendersGaugesSetAndCallback) {
  MetricsRegistry registry;
  GaugeFamily& gauges = registry.AddGauge("queue_depth", "Depth.", {"queue"});
  gauges.WithLabels({"a"}).Set(2.5);
  gauges.WithLabels({"a"}).Add(-1);
  int calls = 0;
  gauges.WithLabels({"b"}).SetCallback([&calls] { return static_cast<double>(++calls * 10); });
  registry.AddGauge("plain", "Plain.").WithLabels({}).Set(-3);
  const std::string first = registry.Render();
  EXPECT_EQ(first,
            "# HELP queue_depth Depth.\n"
            "# TYPE queue_depth gauge\n"
            "queue_depth{queue=\"a\"} 1.5\n"
            "queue_depth{queue=\"b\"} 10\n"
            "# HELP plain Plain.\n"
            "# TYPE plain gauge\n"
            "plain -3\n");
  EXPECT_THAT(registry.Render(), HasSubstr("queue_depth{queue=\"b\"} 20\n"));
}

TEST(MetricsRegistryTest, RendersHistogramBucketsSumAndCount) {
  MetricsRegistry registry;
  HistogramFamily& latency =
      registry.AddHistogram("latency_seconds", "Latency.", {"op"}, {0.0005, 0.01, 2.5});
  Histogram& get = latency.WithLabels({"get"});
  get.Observe(0.0005);  // on the bound: counts in it (le is "less or equal")
  get.Observe(0.002);
  get.Observe(3);
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds Latency.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.0005\"} 1\n"
            "latency_seconds_bucket{op=\"get\",le=\"0.01\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"2.5\"} 2\n"
            "latency_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
            "latency_seconds_sum{op=\"get\"} 3.0025\n"
            "latency_seconds_count{op=\"get\"} 3\n");
}

TEST(MetricsRegistryTest, LatencyBucketsRenderInSeconds) {
  MetricsRegistry registry;
  registry.AddHistogram("l_seconds", "L.", {}, {std::begin(kLatencyBuckets), std::end(kLatencyBuckets)})
      .WithLabels({})
      .Observe(0.001);
  const std::string text = registry.Render();
  for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                         "1", "2.5", "+Inf"}) {
    EXPECT_THAT(text, HasSubstr(std::string("l_seconds_bucket{le=\"") + le + "\"}")) << le;
  }
  EXPECT_THAT(text, HasSubstr("l_seconds_bucket{le=\"0.0005\"} 0\nl_seconds_bucket{le=\"0.001\"} 1\n"));
}

TEST(MetricsRegistryTest, FormatsSpecialValues) {
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(1e21), "1e+21");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsRegistryTest, AddingTheSameFamilyTwiceReturnsIt) {
  MetricsRegistry registry;
  CounterFamily& a = registry.AddCounter("x_total", "X.", {"l"});
  CounterFamily& b = registry.AddCounter("x_total", "X.", {"l"});
  EXPECT_EQ(&a, &b);
}

TEST(MetricsRegistryDeathTest, ConflictingFamiliesAndBadNamesAbort) {
  MetricsRegistry registry;
  registry.AddCounter("x_total", "X.", {"l"});
  EXPECT_DEATH(registry.AddGauge("x_total", "X.", {"l"}), "added twice");
  EXPECT_DEATH(registry.AddCounter("x_total", "X.", {"other"}), "added twice");
  EXPECT_DEATH(registry.AddCounter("bad-name", "X."), "bad metric name");
  EXPECT_DEATH(registry.AddCounter("y_total", "X.", {"le"}), "bad label name");
  EXPECT_DEATH(registry.AddCounter("z_total", "Z.", {"a"}).WithLabels({"1", "2"}), "label values");
  EXPECT_DEATH(registry.AddHistogram("h", "H.", {}, {2, 1}), "strictly increasing");
}

TEST(MetricsRegistryTest, ConcurrentUpdatesAreAllCounted) {
  MetricsRegistry registry;
  CounterFamily& counters = registry.AddCounter("c_total", "C.", {"t"});
  HistogramFamily& histograms = registry.AddHistogram("h_seconds", "H.", {"t"}, {1, 2});
  GaugeFamily& gauges = registry.AddGauge("g", "G.");
  constexpr int kThreads = 8;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Half on a shared child, half on per-thread children created concurrently, while scraping.
        counters.WithLabels({"shared"}).Increment();
        counters.WithLabels({std::to_string(t)}).Increment();
        histograms.WithLabels({"shared"}).Observe(i % 3);
        gauges.WithLabels({}).Add(1);
        if (i % 5000 == 0) (void)registry.Render();
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counters.WithLabels({"shared"}).Value(), uint64_t{kThreads * kPerThread});
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(counters.WithLabels({std::to_string(t)}).Value(), uint64_t{kPerThread});
  const Histogram::Snapshot snapshot = histograms.WithLabels({"shared"}).Read();
  EXPECT_EQ(snapshot.cumulative.back(), uint64_t{kThreads * kPerThread});
  EXPECT_EQ(gauges.WithLabels({}).Value(), double{kThreads * kPerThread});
  EXPECT_THAT(registry.Render(), HasSubstr("h_seconds_count{t=\"shared\"} 160000\n"));
}

}  // namespace
}  // namespace steward::metrics
