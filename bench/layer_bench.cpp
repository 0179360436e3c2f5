// SPDX-License-Identifier: Apache-2.0
// Times one layer write of a directory tree: scan, tar, both digests and
// compression, into a fresh store. bench/run-layer-bench.sh runs it next to
// the equivalent tar | gzip | sha256sum pipelines.
//
//   layer_bench gzip|zstd|none TREE STORE_DIR [THREADS]
//
// Prints one line: compression, wall and CPU seconds, blob and tar bytes,
// peak RSS and the digests.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/resource.h>

#include "imgbuild/layer/scan.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: layer_bench gzip|zstd|none TREE STORE_DIR [THREADS]\n");
    return 2;
  }
  try {
    imgbuild::layer::WriteOptions options;
    options.compression = imgbuild::layer::parse_compression(argv[1]);
    options.threads = argc > 4 ? static_cast<unsigned>(std::atoi(argv[4])) : 0;
    auto store = imgbuild::store::Store::open(argv[3]);

    auto started = std::chrono::steady_clock::now();
    auto entries = imgbuild::layer::scan_tree(argv[2]);
    auto result = imgbuild::layer::write_layer(std::move(entries), options, store);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    double cpu = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                 static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    std::printf("imgbuild-%s seconds=%.3f cpu_seconds=%.3f blob_bytes=%llu tar_bytes=%llu peak_rss_kb=%ld digest=%s diff_id=%s\n", argv[1],
                seconds, cpu, static_cast<unsigned long long>(result.size),
                static_cast<unsigned long long>(result.uncompressed_size), usage.ru_maxrss, result.digest.str().c_str(),
                result.diff_id.str().c_str());
  } catch (const imgbuild::Error& error) {
    std::fprintf(stderr, "layer_bench: error: %s\n", error.what());
    return 1;
  }
  return 0;
}
