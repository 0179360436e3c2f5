// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include "imgbuild/store/store.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"
#include "store/internal.hpp"

namespace imgbuild::store {
namespace {

constexpr std::string_view store_version = "1";

std::atomic<std::uint64_t> temp_counter{0};

// Holds flock(2) on `fd` until destruction; used for short critical sections.
class FlockGuard {
 public:
  FlockGuard(int fd, int operation) : fd_(fd) {
    while (::flock(fd_, operation) != 0) {
      if (errno != EINTR) fail_errno("cannot lock the store");
    }
  }
  ~FlockGuard() { ::flock(fd_, LOCK_UN); }
  FlockGuard(const FlockGuard&) = delete;
  FlockGuard& operator=(const FlockGuard&) = delete;

 private:
  int fd_;
};

bool process_alive(pid_t pid) { return ::kill(pid, 0) == 0 || errno == EPERM; }

// Temporary names start with the creating PID, so entries of processes that
// are gone are safe to remove even while other builds share the store.
// Other modules' temporary directories (run-step scratch dirs, Debian base
// builds) carry no PID: another running build may own them, so they count
// as stale only after a day without change.
bool is_stale_temp(const fs::path& path, const std::string& name) {
  std::string digits;
  for (char c : name) {
    if (c < '0' || c > '9') break;
    digits += c;
  }
  if (digits.empty() || digits.size() > 9) {
    std::error_code error;
    auto modified = fs::last_write_time(path, error);
    if (error) return false;
    return fs::file_time_type::clock::now() - modified > std::chrono::hours(24);
  }
  return !process_alive(static_cast<pid_t>(std::stol(digits)));
}

void remove_stale_temps(const fs::path& directory, std::string_view prefix) {
  std::error_code error;
  for (const auto& item : fs::directory_iterator(directory, error)) {
    std::string name = item.path().filename().string();
    if (!starts_with(name, prefix)) continue;
    if (!is_stale_temp(item.path(), name.substr(prefix.size()))) continue;
    log::debug(cat("store: removing stale temporary ", item.path()));
    remove_tree(item.path());
  }
}

// Creates the layout of a new store; safe when another process does the same.
void create_layout(const fs::path& root) {
  for (const char* sub : {"blobs/sha256", "layers", "cache", "records", "unpacked", "mounts", "tmp"})
    fs::create_directories(root / sub);
  if (!fs::exists(root / "VERSION")) write_file_atomic(root / "VERSION", cat(store_version, "\n"));
}

// A directory with entries but without VERSION was not made by imgbuild's
// store code, or by a version that wrote no VERSION file.
std::string read_version(const fs::path& root) {
  if (fs::exists(root / "VERSION")) return std::string(trim(read_file(root / "VERSION")));
  for (const auto& item : fs::directory_iterator(root)) {
    if (item.path().filename() != "lock") return "unknown";
  }
  return std::string(store_version);
}

UniqueFd open_lock(const fs::path& root) {
  fs::create_directories(root);
  return open_file(root / "lock", O_RDWR | O_CREAT, 0644);
}

// Moves a store of another version aside so it is never misread.
void move_aside(const fs::path& root, const std::string& version, UniqueFd& lock) {
  if (::flock(lock.get(), LOCK_EX | LOCK_NB) != 0)
    fail("store ", root, " has version ", quote(version), " (expected ", quote(store_version),
         ") and another process is using it; stop that process or set another store directory");
  fs::path aside = root;
  aside += cat(".v", version, ".", std::time(nullptr));
  log::warn(cat("store ", root, " has version ", quote(version), ", expected ", quote(store_version),
                "; moved it to ", aside, " and starting an empty store"));
  if (::rename(root.c_str(), aside.c_str()) != 0) fail_errno(cat("cannot move ", root, " to ", aside));
  lock = open_lock(root);
}

std::string cache_file_name(const std::string& key) {
  if (Digest::valid(key)) return Digest::parse(key).hex + ".json";
  if (Digest::valid("sha256:" + key)) return key + ".json";
  return sha256_of(key).hex + ".json";
}

}  // namespace

struct Store::State {
  fs::path root;
  UniqueFd lock;
};

struct BlobWriter::State {
  fs::path temp;
  fs::path blobs_dir;
  UniqueFd fd;
  Sha256 hash;
  std::uint64_t size = 0;
  std::uint64_t writeback_started = 0;  // bytes handed to sync_file_range
  bool done = false;
};

// Starting writeback every 8 MiB lets the disk work while the writer still
// produces data, so the fsync in commit() waits only for the tail.
constexpr std::uint64_t writeback_interval = 8u << 20;

fs::path unique_temp_path(const fs::path& directory, std::string_view purpose) {
  return directory / cat(::getpid(), ".", temp_counter.fetch_add(1), ".", purpose);
}

void write_json_atomic(const fs::path& tmp_dir, const fs::path& target, const nlohmann::json& value) {
  fs::path temp = unique_temp_path(tmp_dir, "json");
  {
    UniqueFd fd = open_file(temp, O_WRONLY | O_CREAT | O_EXCL, 0644);
    try {
      write_all(fd.get(), value.dump(2) + "\n");
      if (::fsync(fd.get()) != 0) fail_errno(cat("cannot fsync ", temp));
    } catch (...) {
      ::unlink(temp.c_str());
      throw;
    }
  }
  if (::rename(temp.c_str(), target.c_str()) != 0) {
    int saved = errno;
    ::unlink(temp.c_str());
    fail_errno(cat("cannot rename ", temp, " to ", target), saved);
  }
}

BlobWriter::BlobWriter(std::unique_ptr<State> state) : state_(std::move(state)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;

BlobWriter::~BlobWriter() {
  if (state_ && !state_->done) ::unlink(state_->temp.c_str());
}

void BlobWriter::write(const void* data, std::size_t size) {
  State& state = *state_;
  write_all(state.fd.get(), std::string_view(static_cast<const char*>(data), size));
  state.hash.update(data, size);
  state.size += size;
  if (state.size - state.writeback_started >= writeback_interval) {
    // The result is ignored because this is only a hint. Where it fails,
    // commit's fsync still writes everything.
    ::sync_file_range(state.fd.get(), static_cast<off_t>(state.writeback_started),
                      static_cast<off_t>(state.size - state.writeback_started), SYNC_FILE_RANGE_WRITE);
    state.writeback_started = state.size;
  }
}

int BlobWriter::fd() const { return state_->fd.get(); }
std::uint64_t BlobWriter::size() const { return state_->size; }

Digest BlobWriter::commit(const std::optional<Digest>& expected) {
  State& state = *state_;
  if (state.done) fail("blob writer for ", state.temp, " was already committed");
  state.done = true;
  Digest digest = state.hash.finish();

  if (expected && *expected != digest) {
    ::unlink(state.temp.c_str());
    fail("blob content hashes to ", digest.str(), " but ", expected->str(), " was expected; the source is corrupt or changed while it was read");
  }
  if (::fsync(state.fd.get()) != 0) fail_errno(cat("cannot fsync ", state.temp));
  state.fd.reset();

  fs::path target = state.blobs_dir / digest.hex;
  if (::rename(state.temp.c_str(), target.c_str()) != 0) {
    int saved = errno;
    ::unlink(state.temp.c_str());
    fail_errno(cat("cannot rename ", state.temp, " to ", target), saved);
  }
  fsync_directory(state.blobs_dir);
  return digest;
}

Store::Store(std::unique_ptr<State> state) : state_(std::move(state)) {}
Store::Store(Store&&) noexcept = default;
Store::~Store() = default;

Store Store::open(const fs::path& root_path) {
  fs::path root = fs::absolute(root_path).lexically_normal();
  UniqueFd lock = open_lock(root);

  std::string version = read_version(root);
  if (version != store_version) move_aside(root, version, lock);

  if (::flock(lock.get(), LOCK_SH) != 0) fail_errno(cat("cannot lock the store at ", root));
  create_layout(root);
  remove_stale_temps(root / "tmp", "");
  remove_stale_temps(root / "unpacked", ".tmp-");

  auto state = std::make_unique<State>();
  state->root = root;
  state->lock = std::move(lock);
  return Store(std::move(state));
}

const fs::path& Store::root() const { return state_->root; }
fs::path Store::blob_path(const Digest& digest) const { return state_->root / "blobs/sha256" / digest.hex; }
bool Store::has_blob(const Digest& digest) const { return fs::exists(blob_path(digest)); }
fs::path Store::tmp_dir() const { return state_->root / "tmp"; }
fs::path Store::unpacked_dir(const Digest& diff_id) const { return state_->root / "unpacked" / diff_id.hex; }
fs::path Store::cache_mount_dir(const std::string& name) const { return state_->root / "mounts" / name; }
fs::path Store::records_dir() const { return state_->root / "records"; }
fs::path Store::layers_dir() const { return state_->root / "layers"; }
fs::path Store::cache_dir() const { return state_->root / "cache"; }

BlobWriter Store::begin_blob() {
  auto state = std::make_unique<BlobWriter::State>();
  state->temp = unique_temp_path(tmp_dir(), "blob");
  state->blobs_dir = state_->root / "blobs/sha256";
  state->fd = open_file(state->temp, O_WRONLY | O_CREAT | O_EXCL, 0644);
  return BlobWriter(std::move(state));
}

Digest Store::ingest_file(const fs::path& path, const std::optional<Digest>& expected) {
  return with_context(cat("ingesting ", path), [&] {
    UniqueFd source = open_file(path, O_RDONLY);
    BlobWriter writer = begin_blob();
    std::vector<char> buffer(1 << 20);
    while (true) {
      ssize_t n = ::read(source.get(), buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) fail_errno(cat("cannot read ", path));
      if (n == 0) break;
      writer.write(buffer.data(), static_cast<std::size_t>(n));
    }
    return writer.commit(expected);
  });
}

Digest Store::put_bytes(std::string_view bytes) {
  BlobWriter writer = begin_blob();
  writer.write(bytes.data(), bytes.size());
  return writer.commit();
}

std::string Store::read_blob(const Digest& digest) const {
  fs::path path = blob_path(digest);
  if (!fs::exists(path)) fail("blob ", digest.str(), " not found at ", path, "; build or pull the image again");
  std::string data = read_file(path);
  Digest actual = sha256_of(data);
  if (actual != digest) throw_corrupt_blob(digest, path, actual);
  return data;
}

void Store::verify_blob(const Digest& digest) const {
  fs::path path = blob_path(digest);
  if (!fs::exists(path)) fail("blob ", digest.str(), " not found at ", path, "; build or pull the image again");
  Digest actual = sha256_of_file(path);
  if (actual != digest) throw_corrupt_blob(digest, path, actual);
}

void throw_corrupt_blob(const Digest& digest, const fs::path& path, const Digest& actual) {
  fail("blob ", digest.str(), " at ", path, " is corrupt: its content hashes to ", actual.str(),
       "; remove the file and build or pull again");
}

std::optional<LayerRecord> Store::find_layer(const Digest& diff_id) const {
  fs::path path = layers_dir() / (diff_id.hex + ".json");
  if (!fs::exists(path)) return std::nullopt;
  return with_context(cat("reading layer record ", path), [&] { return layer_from_json(nlohmann::json::parse(read_file(path))); });
}

void Store::put_layer(const LayerRecord& record) {
  // Writers adding different compressions of one layer must not lose each
  // other's blob, so the read-merge-write runs under a lock on layers/.
  UniqueFd directory = open_file(layers_dir(), O_RDONLY | O_DIRECTORY);
  FlockGuard guard(directory.get(), LOCK_EX);

  LayerRecord merged = record;
  if (auto existing = find_layer(record.diff_id)) {
    for (const auto& [compression, blob] : existing->blobs) merged.blobs.emplace(compression, blob);
  }
  write_json_atomic(tmp_dir(), layers_dir() / (record.diff_id.hex + ".json"), layer_to_json(merged));
}

std::optional<CacheEntry> Store::find_cache(const std::string& key) const {
  fs::path path = cache_dir() / cache_file_name(key);
  if (!fs::exists(path)) return std::nullopt;

  std::optional<CacheEntry> entry;
  try {
    entry = cache_from_json(nlohmann::json::parse(read_file(path)));
  } catch (const std::exception& error) {
    log::warn(cat("ignoring unreadable cache entry ", path, ": ", error.what()));
    return std::nullopt;
  }
  // The modification time records the last use, for prune's age budget.
  ::utimensat(AT_FDCWD, path.c_str(), nullptr, 0);
  return entry;
}

void Store::put_cache(const std::string& key, const CacheEntry& entry) {
  write_json_atomic(tmp_dir(), cache_dir() / cache_file_name(key), cache_to_json(entry));
}

void Store::lock_exclusive(std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (::flock(state_->lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) fail_errno(cat("cannot lock the store at ", root()));
    // A failed conversion drops the shared lock on Linux; take it back.
    ::flock(state_->lock.get(), LOCK_SH);
    if (std::chrono::steady_clock::now() >= deadline)
      fail("store ", root(), " is in use by a running build; retry when it finishes");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void Store::lock_shared() {
  if (::flock(state_->lock.get(), LOCK_SH) != 0) fail_errno(cat("cannot lock the store at ", root()));
}

}  // namespace imgbuild::store
