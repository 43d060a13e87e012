#include "common/striped_mutex.h"

#include <algorithm>

#include "absl/hash/hash.h"

namespace steward {

StripedMutex::Lock& StripedMutex::Lock::operator=(Lock&& other) noexcept {
  if (this != &other) {
    Release();
    held_ = std::move(other.held_);
    other.held_.clear();
  }
  return *this;
}

void StripedMutex::Lock::Release() {
  for (auto it = held_.rbegin(); it != held_.rend(); ++it) (*it)->Unlock();
  held_.clear();
}

StripedMutex::Lock StripedMutex::LockKeys(absl::Span<const std::string> keys) {
  std::vector<std::size_t> indexes;
  indexes.reserve(keys.size());
  for (const std::string& key : keys) indexes.push_back(absl::HashOf(key) % kStripes);
  std::sort(indexes.begin(), indexes.end());
  indexes.erase(std::unique(indexes.begin(), indexes.end()), indexes.end());
  Lock lock;
  lock.held_.reserve(indexes.size());
  for (std::size_t i : indexes) {
    stripes_[i].Lock();
    lock.held_.push_back(&stripes_[i]);
  }
  return lock;
}

}  // namespace steward
