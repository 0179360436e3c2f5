// SPDX-License-Identifier: Apache-2.0
#include "layer/compress.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <libdeflate.h>
#include <mutex>
#include <thread>
#include <vector>
#include <zstd.h>

#include "imgbuild/util/error.hpp"

namespace imgbuild::layer {
namespace {

constexpr int gzip_level = 6;
constexpr int zstd_level = 3;

class DeflateCompressor {
 public:
  DeflateCompressor() : handle_(libdeflate_alloc_compressor(gzip_level)) {
    if (!handle_) fail("libdeflate: cannot allocate a compressor");
  }
  ~DeflateCompressor() { libdeflate_free_compressor(handle_); }
  DeflateCompressor(const DeflateCompressor&) = delete;
  DeflateCompressor& operator=(const DeflateCompressor&) = delete;

  // Compresses `input` into one complete gzip member.
  std::vector<char> gzip(const std::vector<char>& input) {
    std::vector<char> output(libdeflate_gzip_compress_bound(handle_, input.size()));
    std::size_t size = libdeflate_gzip_compress(handle_, input.data(), input.size(), output.data(), output.size());
    if (size == 0) fail("libdeflate: gzip compression of a ", input.size(), "-byte chunk failed");
    output.resize(size);
    return output;
  }

 private:
  libdeflate_compressor* handle_;
};

bool all_zero(const std::vector<char>& data) {
  return !data.empty() && data[0] == 0 && std::memcmp(data.data(), data.data() + 1, data.size() - 1) == 0;
}

class GzipCompressor final : public Compressor {
 public:
  GzipCompressor(unsigned threads, store::BlobWriter& out) : out_(out), max_in_flight_(2 * threads + 1) {
    current_.reserve(chunk_size);
    if (threads > 1) {
      for (unsigned i = 0; i < threads; ++i) workers_.emplace_back([this] { work(); });
    }
  }

  ~GzipCompressor() override { stop(); }

  void write(const char* data, std::size_t size) override {
    while (size > 0) {
      std::size_t take = std::min(size, chunk_size - current_.size());
      current_.insert(current_.end(), data, data + take);
      data += take;
      size -= take;
      if (current_.size() == chunk_size) submit();
    }
  }

  void finish() override {
    if (!current_.empty()) submit();
    while (!in_order_.empty()) write_front();
    stop();
  }

 private:
  struct Job {
    std::vector<char> input;
    std::vector<char> output;
    bool done = false;
    std::exception_ptr error;
  };

  void submit() {
    auto job = std::make_shared<Job>();
    job->input.swap(current_);
    current_.reserve(chunk_size);

    // Sparse files and images of zeroed disks repeat this chunk many times;
    // its member is computed once and reused.
    bool zero_chunk = job->input.size() == chunk_size && all_zero(job->input);
    if (zero_chunk && !zero_member_.empty()) {
      job->output = zero_member_;
      job->done = true;
    } else if (workers_.empty() || zero_chunk) {
      job->output = inline_compressor_.gzip(job->input);
      job->done = true;
      if (zero_chunk) zero_member_ = job->output;
    }

    if (in_order_.size() >= max_in_flight_) write_front();
    std::lock_guard lock(mutex_);
    in_order_.push_back(job);
    if (!job->done) {
      pending_.push_back(job);
      work_ready_.notify_one();
    }
  }

  void write_front() {
    std::shared_ptr<Job> job;
    {
      std::unique_lock lock(mutex_);
      job_done_.wait(lock, [&] { return in_order_.front()->done; });
      job = in_order_.front();
      in_order_.pop_front();
    }
    if (job->error) std::rethrow_exception(job->error);
    out_.write(job->output.data(), job->output.size());
  }

  void work() {
    DeflateCompressor compressor;
    while (true) {
      std::shared_ptr<Job> job;
      {
        std::unique_lock lock(mutex_);
        work_ready_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
        if (pending_.empty()) return;
        job = pending_.front();
        pending_.pop_front();
      }
      try {
        job->output = compressor.gzip(job->input);
      } catch (...) {
        job->error = std::current_exception();
      }
      job->input = {};
      {
        std::lock_guard lock(mutex_);
        job->done = true;
      }
      job_done_.notify_all();
    }
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      pending_.clear();
    }
    work_ready_.notify_all();
    for (auto& worker : workers_) worker.join();
    workers_.clear();
  }

  store::BlobWriter& out_;
  std::size_t max_in_flight_;
  std::vector<char> current_;
  std::vector<char> zero_member_;
  DeflateCompressor inline_compressor_;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable work_ready_;
  std::condition_variable job_done_;
  std::deque<std::shared_ptr<Job>> pending_;
  std::deque<std::shared_ptr<Job>> in_order_;
  bool stopping_ = false;
};

// libzstd copies the input into its own job buffers and compresses on its
// workers, while the caller's thread builds and hashes the tar. Moving the
// hashing and feeding to a thread of their own was measured slower on two
// cores by bench/run-layer-bench.sh: it added CPU time and the layer took
// longer to write.
class ZstdCompressor final : public Compressor {
 public:
  ZstdCompressor(unsigned threads, store::BlobWriter& out)
      : out_(out), context_(ZSTD_createCCtx()), output_(ZSTD_CStreamOutSize()) {
    if (!context_) fail("libzstd: cannot allocate a compression context");
    check(ZSTD_CCtx_setParameter(context_, ZSTD_c_compressionLevel, zstd_level));
    // With one or more workers zstd's output is the same for any count; zero
    // workers selects a different, single-threaded format of the frame.
    std::size_t workers = std::max(1u, threads);
    check(ZSTD_CCtx_setParameter(context_, ZSTD_c_nbWorkers, static_cast<int>(workers)));
    input_.reserve(chunk_size);
  }

  ~ZstdCompressor() override { ZSTD_freeCCtx(context_); }

  void write(const char* data, std::size_t size) override {
    while (size > 0) {
      std::size_t take = std::min(size, chunk_size - input_.size());
      input_.insert(input_.end(), data, data + take);
      data += take;
      size -= take;
      if (input_.size() == chunk_size) compress(ZSTD_e_continue);
    }
  }

  void finish() override { compress(ZSTD_e_end); }

 private:
  static std::size_t check(std::size_t code) {
    if (ZSTD_isError(code)) fail("libzstd: ", ZSTD_getErrorName(code));
    return code;
  }

  void compress(ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{input_.data(), input_.size(), 0};
    while (true) {
      ZSTD_outBuffer out{output_.data(), output_.size(), 0};
      std::size_t remaining = check(ZSTD_compressStream2(context_, &out, &in, mode));
      out_.write(output_.data(), out.pos);
      bool finished = mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
      if (finished) break;
    }
    input_.clear();
  }

  store::BlobWriter& out_;
  ZSTD_CCtx* context_;
  std::vector<char> input_;
  std::vector<char> output_;
};

class PlainWriter final : public Compressor {
 public:
  explicit PlainWriter(store::BlobWriter& out) : out_(out) { buffer_.reserve(chunk_size); }

  void write(const char* data, std::size_t size) override {
    if (buffer_.size() + size > chunk_size) flush();
    if (size >= chunk_size) {
      out_.write(data, size);
      return;
    }
    buffer_.insert(buffer_.end(), data, data + size);
  }

  void finish() override { flush(); }

 private:
  void flush() {
    out_.write(buffer_.data(), buffer_.size());
    buffer_.clear();
  }

  store::BlobWriter& out_;
  std::vector<char> buffer_;
};

}  // namespace

std::unique_ptr<Compressor> make_compressor(Compression compression, unsigned threads, store::BlobWriter& out) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  switch (compression) {
    case Compression::gzip:
      return std::make_unique<GzipCompressor>(threads, out);
    case Compression::zstd:
      return std::make_unique<ZstdCompressor>(threads, out);
    case Compression::none:
      break;
  }
  return std::make_unique<PlainWriter>(out);
}

}  // namespace imgbuild::layer
