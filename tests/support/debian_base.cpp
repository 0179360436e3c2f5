// SPDX-License-Identifier: Apache-2.0
#include "support/debian_base.hpp"

#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/file.h>

#include "imgbuild/base/base.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::test {
namespace {

std::mutex mutex;
std::map<std::vector<std::string>, base::DebianBaseResult> shared_results;
std::map<std::pair<fs::path, std::vector<std::string>>, image::Image> store_images;

// Holds flock(2) on a file so parallel test processes build a base once.
class FileLock {
 public:
  explicit FileLock(const fs::path& path) : fd_(open_file(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) {
    if (::flock(fd_.get(), LOCK_EX) != 0) fail_errno(cat("flock ", path));
  }

 private:
  UniqueFd fd_;
};

// Resolves the base in the shared store. The caller must lock `mutex`.
const base::DebianBaseResult& shared_result(const std::vector<std::string>& packages) {
  if (auto found = shared_results.find(packages); found != shared_results.end()) return found->second;

  fs::create_directories(shared_base_store_dir());
  FileLock lock(shared_base_store_dir().string() + ".lock");
  store::Store shared = store::Store::open(shared_base_store_dir());
  base::BaseContext context{.store = shared};
  context.platform = base::oci_platform(base::host_debian_architecture());
  context.source_date_epoch = shared_base_epoch;
  base::DebianBase debian{.suite = "bookworm", .packages = packages};
  return shared_results.emplace(packages, base::build_debian_base(debian, context)).first->second;
}

void copy_layer(const store::Store& from, store::Store& to, const image::Layer& layer) {
  if (!to.has_blob(layer.blob.digest)) to.ingest_file(from.blob_path(layer.blob.digest), layer.blob.digest);
  if (!to.find_layer(layer.diff_id)) to.put_layer(*from.find_layer(layer.diff_id));
}

}  // namespace

fs::path shared_base_store_dir() { return IMGBUILD_TEST_STORE; }

const image::Image& shared_bookworm_base(store::Store& store, const std::vector<std::string>& packages) {
  std::lock_guard guard(mutex);
  auto key = std::make_pair(store.root(), packages);
  if (auto found = store_images.find(key); found != store_images.end()) return found->second;

  const image::Image& image = shared_result(packages).image;
  if (fs::weakly_canonical(store.root()) != fs::weakly_canonical(shared_base_store_dir())) {
    store::Store shared = store::Store::open(shared_base_store_dir());
    for (const auto& layer : image.layers) copy_layer(shared, store, layer);
  }
  return store_images.emplace(key, image).first->second;
}

const std::vector<base::Package>& shared_bookworm_packages(const std::vector<std::string>& packages) {
  std::lock_guard guard(mutex);
  return shared_result(packages).packages;
}

}  // namespace imgbuild::test
