#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

// Helpers of the tests of configuration loaders: files written per test, positions in them, edits.
namespace steward::testing {

// The source tree (ctest sets STEWARD_SOURCE_DIR).
inline std::string TestSourceDir() {
  const char* dir = std::getenv("STEWARD_SOURCE_DIR");
  return dir != nullptr ? dir : ".";
}

// A whole file's text ("" when it cannot be read).
inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// An empty directory of the running test's own, under `suite`.
inline std::filesystem::path FreshTestDir(const std::string& suite) {
  const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / suite / info->name();
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

// Writes `text` to "<name>.textproto" in the running test's directory under `suite` (name: the test's),
// so that tests do not see each other's files; returns the path.
inline std::string WriteTestFile(const std::string& text, const std::string& suite, std::string name = "") {
  if (name.empty()) name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / suite /
                                    ::testing::UnitTest::GetInstance()->current_test_info()->name();
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / absl::StrCat(name, ".textproto");
  std::ofstream(path) << text;
  return path.string();
}

// "line:col" (1-based) of the first occurrence of `needle` in `text` at or after the first occurrence
// of `anchor` (from the start when empty).
inline std::string Position(const std::string& text, const std::string& needle,
                            const std::string& anchor = "") {
  const std::size_t from = anchor.empty() ? 0 : text.find(anchor);
  EXPECT_NE(from, std::string::npos) << anchor;
  const std::size_t at = from == std::string::npos ? from : text.find(needle, from);
  EXPECT_NE(at, std::string::npos) << needle;
  if (at == std::string::npos) return "?";
  std::size_t line_start = text.rfind('\n', at);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  int line = 1;
  for (std::size_t i = 0; i < at; ++i) line += text[i] == '\n' ? 1 : 0;
  return absl::StrCat(line, ":", at - line_start + 1);
}

// Replaces the single occurrence of `from` (which must exist exactly once) with `to`.
inline std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at == std::string::npos) return text;
  EXPECT_EQ(text.find(from, at + 1), std::string::npos) << "not unique: " << from;
  text.replace(at, from.size(), to);
  return text;
}

}  // namespace steward::testing
