// SPDX-License-Identifier: Apache-2.0
#include "support/toolkit.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::test {

fs::path source_dir() { return IMGBUILD_SOURCE_DIR; }
fs::path imgbuild_binary() { return IMGBUILD_BINARY; }

void write(const fs::path& path, std::string_view content, int mode) {
  if (path.has_parent_path()) fs::create_directories(path.parent_path());
  UniqueFd fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
  write_all(fd.get(), content);
  ::chmod(path.c_str(), static_cast<mode_t>(mode));
}

void make_busybox_rootfs(const fs::path& root) {
  auto busybox = find_program("busybox");
  if (!busybox) fail("busybox not found: install busybox-static (scripts/install-deps.sh does)");
  for (const char* directory : {"bin", "etc", "proc", "sys", "dev", "root", "home/someone", "var"})
    fs::create_directories(root / directory);
  fs::create_directories(root / "tmp");
  ::chmod((root / "tmp").c_str(), 01777);
  fs::copy_file(*busybox, root / "bin/busybox", fs::copy_options::overwrite_existing);
  ::chmod((root / "bin/busybox").c_str(), 0755);
  std::string applets = run_checked({busybox->string(), "--list"});
  for (const auto& applet : split(applets, '\n')) {
    if (applet.empty() || applet == "busybox") continue;
    std::error_code ignored;
    fs::create_symlink("busybox", root / "bin" / applet, ignored);
  }
  write(root / "etc/passwd",
        "root:x:0:0:root:/root:/bin/sh\n"
        "someone:x:1000:1000:someone:/home/someone:/bin/sh\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
  write(root / "etc/group", "root:x:0:\nsomeone:x:1000:\nnogroup:x:65534:\n");
  if (::chown((root / "home/someone").c_str(), 1000, 1000) != 0 && is_root())
    fail_errno("chown home/someone");
}

std::vector<std::string> list_tree(const fs::path& root) {
  std::vector<std::string> lines;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
    struct stat st{};
    if (::lstat(it->path().c_str(), &st) != 0) fail_errno(cat("lstat ", it->path()));
    std::string relative = fs::relative(it->path(), root).string();
    char mode[16];
    std::snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    std::string owner = cat(st.st_uid, ":", st.st_gid);
    if (S_ISDIR(st.st_mode))
      lines.push_back(cat("d ", mode, " ", owner, " ", relative, "/"));
    else if (S_ISREG(st.st_mode))
      lines.push_back(cat("f ", mode, " ", owner, " ", st.st_size, " ", relative));
    else if (S_ISLNK(st.st_mode))
      lines.push_back(cat("l ", owner, " ", relative, " -> ", fs::read_symlink(it->path()).string()));
    else if (S_ISCHR(st.st_mode))
      lines.push_back(cat("c ", mode, " ", owner, " ", relative, " ", major(st.st_rdev), ":", minor(st.st_rdev)));
    else if (S_ISBLK(st.st_mode))
      lines.push_back(cat("b ", mode, " ", owner, " ", relative, " ", major(st.st_rdev), ":", minor(st.st_rdev)));
    else if (S_ISFIFO(st.st_mode))
      lines.push_back(cat("p ", mode, " ", owner, " ", relative));
    else
      lines.push_back(cat("? ", relative));
  }
  std::sort(lines.begin(), lines.end());
  return lines;
}

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) fail_errno("bind");
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  ::close(fd);
  return ntohs(address.sin_port);
}

bool wait_for_port(int port, double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<uint16_t>(port));
    bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (connected) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

BackgroundProcess::BackgroundProcess(std::vector<std::string> argv, fs::path log_file,
                                     std::vector<std::string> extra_env)
    : log_file_(std::move(log_file)) {
  pid_t pid = ::fork();
  if (pid < 0) fail_errno("fork");
  if (pid == 0) {
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    int fd = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    for (auto& entry : extra_env) ::putenv(entry.data());
    std::vector<char*> args;
    for (auto& arg : argv) args.push_back(arg.data());
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  pid_ = pid;
}

BackgroundProcess::BackgroundProcess(BackgroundProcess&& other) noexcept
    : pid_(other.pid_), log_file_(std::move(other.log_file_)) {
  other.pid_ = -1;
}

BackgroundProcess::~BackgroundProcess() { stop(); }

void BackgroundProcess::stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

int BackgroundProcess::wait_exit(double seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (pid_ > 0 && std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

ProcessResult run_imgbuild(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv = {imgbuild_binary().string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_process(argv, options);
}

bool is_root() { return ::geteuid() == 0; }

}  // namespace imgbuild::test
