// SPDX-License-Identifier: Apache-2.0
// Helpers shared by every test: temporary directories, a busybox rootfs,
// tree listings for exact comparisons, and background processes (registry,
// servers) that tests start on 127.0.0.1 and stop by PID.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"

namespace imgbuild::test {

namespace fs = std::filesystem;

// The repository root, for test inputs kept under tests/data.
fs::path source_dir();
// The imgbuild binary built alongside the tests.
fs::path imgbuild_binary();

// Writes `content` to `path`, creating parents; `mode` is applied with chmod.
void write(const fs::path& path, std::string_view content, int mode = 0644);

// Populates `root` with a static busybox and its applet links in /bin, plus
// /etc/passwd and /etc/group with root, a user "someone" (1000:1000) and
// nobody, /tmp (1777) and empty /proc, /sys, /dev. Enough for `run` steps.
void make_busybox_rootfs(const fs::path& root);

// One line per entry below `root`, sorted: "d 0755 0:0 path/",
// "f 0644 0:0 5 path", "l 0777 0:0 path -> target", "c 0:0 path 0:0" ...
// Tests compare trees with it so a failure shows the differing entry.
std::vector<std::string> list_tree(const fs::path& root);

// Returns a TCP port on 127.0.0.1 that was free a moment ago.
int free_port();

// A process started in the background and killed (SIGTERM, then SIGKILL) by
// its PID when the object goes away.
class BackgroundProcess {
 public:
  BackgroundProcess(std::vector<std::string> argv, fs::path log_file,
                    std::vector<std::string> extra_env = {});
  BackgroundProcess(BackgroundProcess&&) noexcept;
  ~BackgroundProcess();
  int pid() const { return pid_; }
  const fs::path& log_file() const { return log_file_; }
  void stop();
  // Waits up to `seconds` for the process to exit by itself. Returns its
  // exit code (128 + N for signal N), or -1 when it is still running.
  int wait_exit(double seconds);

 private:
  int pid_ = -1;
  fs::path log_file_;
};

// Polls until something listens on 127.0.0.1:`port`; false after `seconds`.
bool wait_for_port(int port, double seconds = 10);

// Runs the imgbuild binary with `args`; captures output and exit code.
ProcessResult run_imgbuild(const std::vector<std::string>& args, const ProcessOptions& options = {});

// True when the test runs as root; tests that need mounts or runc skip
// themselves (with a message) otherwise.
bool is_root();

}  // namespace imgbuild::test
