// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/util/cleanup.hpp"

#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pthread.h>
#include <sys/mount.h>
#include <thread>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"

namespace imgbuild::cleanup {
namespace {

enum class Kind { action, mount, path };

struct Entry {
  Kind kind;
  std::filesystem::path path;
  std::function<void()> action;
};

std::mutex mutex;
std::map<std::uint64_t, Entry> entries;  // ordered by registration
std::uint64_t next_handle = 1;
std::atomic<bool> signalled{false};
std::atomic<int> received_signal{0};
std::atomic<bool> announced{false};

std::uint64_t add(Entry entry) {
  std::lock_guard lock(mutex);
  std::uint64_t handle = next_handle++;
  entries.emplace(handle, std::move(entry));
  return handle;
}

void remove_matching(Kind kind, const std::filesystem::path& path) {
  std::lock_guard lock(mutex);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->second.kind == kind && it->second.path == path) {
      entries.erase(std::next(it).base());
      return;
    }
  }
}

void undo(const Entry& entry) noexcept {
  try {
    switch (entry.kind) {
      case Kind::action: entry.action(); break;
      case Kind::mount: ::umount2(entry.path.c_str(), MNT_DETACH); break;
      case Kind::path: remove_tree(entry.path); break;
    }
  } catch (...) {
    // Best effort: one failed undo must not stop the others.
  }
}

}  // namespace

void register_path(const std::filesystem::path& path) { add({Kind::path, path, {}}); }
void unregister_path(const std::filesystem::path& path) { remove_matching(Kind::path, path); }
void register_mount(const std::filesystem::path& target) { add({Kind::mount, target, {}}); }
void unregister_mount(const std::filesystem::path& target) { remove_matching(Kind::mount, target); }

std::uint64_t register_action(std::function<void()> action) {
  return add({Kind::action, {}, std::move(action)});
}

void unregister_action(std::uint64_t handle) {
  std::lock_guard lock(mutex);
  entries.erase(handle);
}

void run_all() noexcept {
  std::map<std::uint64_t, Entry> pending;
  {
    std::lock_guard lock(mutex);
    pending.swap(entries);
  }
  for (auto it = pending.rbegin(); it != pending.rend(); ++it) undo(it->second);
}

bool interrupted() noexcept { return signalled.load(); }

int interrupt_exit_code() noexcept { return 128 + received_signal.load(); }

void announce_interrupt() noexcept {
  if (announced.exchange(true)) return;
  int signal = received_signal.load();
  const char* name = signal == SIGINT ? "SIGINT" : "SIGTERM";
  try {
    nlohmann::json event = {{"event", "interrupted"}, {"signal", name}, {"exit_code", 128 + signal}};
    log::event(event,
               cat("imgbuild: interrupted by ", name, "; stopped and cleaned up"));
  } catch (...) {
    // Exiting matters more than the message.
  }
}

void install_signal_handler() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int signal = 0;
    sigwait(&set, &signal);
    received_signal = signal;
    signalled = true;
    // Running steps poll `interrupted()` about every 100 ms and then clean up
    // through their own destructors. Waiting for that first keeps a late
    // runtime call of theirs from recreating what a pass removed. The second
    // pass catches anything a thread registered during the first.
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    run_all();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    run_all();
    announce_interrupt();
    _exit(128 + signal);
  }).detach();
}

}  // namespace imgbuild::cleanup
