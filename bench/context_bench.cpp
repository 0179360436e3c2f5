// SPDX-License-Identifier: Apache-2.0
// Measures input hashing of a build context: a cold run (empty stat cache,
// page cache dropped when running as root) and a warm rerun over the
// unchanged files, beside sha256sum over the same files.
//
//   context_bench WORKDIR [--files N] [--megabytes M]
//
// Exits 1 when the warm run takes 0.1 s or more, or is less than 20 times
// faster than the cold one.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <string>
#include <thread>
#include <unistd.h>

#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/copy_plan.hpp"
#include "imgbuild/context/stat_cache.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

using namespace imgbuild;
namespace fs = std::filesystem;

namespace {

struct Settings {
  fs::path workdir;
  std::size_t files = 20000;
  std::uint64_t megabytes = 300;
};

// Deterministic pseudo-random bytes (xorshift64), so every run hashes the
// same context.
struct Random {
  std::uint64_t state = 0x9e3779b97f4a7c15ULL;
  std::uint64_t next() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

// Writes `files` files in directories of 100, sizes spread around the mean
// so the total is `megabytes` MB. Skips the work when a marker file shows the same
// context is already there.
void generate(const fs::path& context, const Settings& settings) {
  std::string marker = cat(settings.files, " files ", settings.megabytes, " MB\n");
  fs::path marker_file = context.parent_path() / "context.done";
  std::error_code error;
  if (fs::exists(marker_file, error) && read_file(marker_file) == marker) return;

  remove_tree(context);
  Random random;
  std::uint64_t mean = settings.megabytes * 1'000'000 / settings.files;
  std::string buffer;
  for (std::size_t i = 0; i < settings.files; ++i) {
    std::uint64_t size = mean / 2 + random.next() % (mean + 1);
    buffer.resize(size);
    for (std::size_t k = 0; k + 8 <= size; k += 8) {
      std::uint64_t word = random.next();
      std::memcpy(buffer.data() + k, &word, 8);
    }
    fs::path file = context / cat("dir", i / 100) / cat("file", i, ".bin");
    fs::create_directories(file.parent_path());
    UniqueFd fd = open_file(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    write_all(fd.get(), buffer);
  }
  write_file_atomic(marker_file, marker);
}

void drop_page_cache() {
  ::sync();
  if (::geteuid() != 0) return;
  std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// One input-hash run: load the stat cache, plan `COPY . /app/`, save.
double hash_run(const fs::path& context, const fs::path& cache_dir, Digest& key, std::uint64_t& hits) {
  auto start = std::chrono::steady_clock::now();
  auto cache = std::make_shared<context::StatCache>(cache_dir);
  auto tree = context::open_directory_context(context, std::nullopt, cache);
  context::CopyRequest request;
  request.sources = {"."};
  request.destination = "/app/";
  context::CopyPlan plan = context::plan_copy(request, *tree, [](std::string_view path) { return path == "/"; });
  cache->save();
  key = plan.input_hash;
  hits = cache->hits();
  return seconds_since(start);
}

double sha256sum_run(const fs::path& context) {
  ProcessOptions options;
  options.working_directory = context;
  auto start = std::chrono::steady_clock::now();
  run_checked({"sh", "-c", "find . -type f -print0 | xargs -0 sha256sum > /dev/null"}, options);
  return seconds_since(start);
}

Settings parse_arguments(int argc, char** argv) {
  if (argc < 2) fail_with(ExitCode::usage, "usage: context_bench WORKDIR [--files N] [--megabytes M]");
  Settings settings;
  settings.workdir = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string option = argv[i];
    if (option == "--files") settings.files = std::stoul(argv[i + 1]);
    else if (option == "--megabytes") settings.megabytes = std::stoull(argv[i + 1]);
    else fail_with(ExitCode::usage, "unknown option ", quote(option));
  }
  return settings;
}

}  // namespace

int main(int argc, char** argv) try {
  Settings settings = parse_arguments(argc, argv);
  fs::path context = settings.workdir / "context";
  fs::path cache_dir = settings.workdir / "statcache";
  generate(context, settings);
  // Files changed less than 2 s before hashing are never trusted from the
  // stat cache (see StatCache), so a fresh context would rehash its newest files.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));

  remove_tree(cache_dir);
  drop_page_cache();
  Digest cold_key, warm_key;
  std::uint64_t cold_hits = 0, warm_hits = 0;
  double cold = hash_run(context, cache_dir, cold_key, cold_hits);
  double warm = hash_run(context, cache_dir, warm_key, warm_hits);
  drop_page_cache();
  double sum_cold = sha256sum_run(context);
  double sum_warm = sha256sum_run(context);

  bool dropped = ::geteuid() == 0;
  std::printf("context: %zu files, %llu MB, %u hashing threads, page cache %s\n", settings.files,
              static_cast<unsigned long long>(settings.megabytes),
              std::max(2u, std::thread::hardware_concurrency()), dropped ? "dropped before cold runs" : "kept (not root)");
  std::printf("%-32s %10s\n", "run", "seconds");
  std::printf("%-32s %10.3f\n", "imgbuild cold (no stat cache)", cold);
  std::printf("%-32s %10.3f  (%llu stat cache hits)\n", "imgbuild warm (unchanged rerun)", warm,
              static_cast<unsigned long long>(warm_hits));
  std::printf("%-32s %10.3f\n", "sha256sum cold", sum_cold);
  std::printf("%-32s %10.3f\n", "sha256sum warm", sum_warm);
  std::printf("warm speed-up over cold: %.1fx\n", cold / warm);

  bool ok = warm < 0.1 && cold / warm >= 20 && cold_key == warm_key && warm_hits == settings.files;
  if (cold_key != warm_key) std::printf("FAIL: cold and warm input hashes differ\n");
  std::printf("%s: warm < 0.1 s and >= 20x faster than cold\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
} catch (const Error& error) {
  std::fprintf(stderr, "context_bench: error: %s\n", error.what());
  return 2;
}
