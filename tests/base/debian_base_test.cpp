// SPDX-License-Identifier: Apache-2.0
// Debian bases built with mmdebstrap from deb.debian.org. One build took 15
// to 80 s on a 2-core test machine, depending on the network, so every case
// here is [slow].
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "imgbuild/base/base.hpp"
#include "imgbuild/image/config.hpp"
#include "imgbuild/store/store.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"
#include "support/apt_repo.hpp"
#include "support/debian_base.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;

namespace {

const std::vector<std::string> python3{"python3"};

base::BaseContext context_for(store::Store& store, std::vector<std::string>& progress) {
  base::BaseContext context{.store = store};
  context.platform = base::oci_platform(base::host_debian_architecture());
  context.source_date_epoch = test::shared_base_epoch;
  context.progress = [&progress](std::string_view line) { progress.emplace_back(line); };
  return context;
}

// Unpacks the layer blob of a one-layer image into `root`.
void unpack_base(const store::Store& store, const image::Image& image, const fs::path& root) {
  REQUIRE(image.layers.size() == 1);
  fs::create_directories(root);
  run_checked({"tar", "-xzf", store.blob_path(image.layers[0].blob.digest).string(), "-C", root.string(),
               "--numeric-owner"});
}

std::vector<std::string> layer_paths(const store::Store& store, const image::Image& image) {
  std::string listing = run_checked({"tar", "-tzf", store.blob_path(image.layers.at(0).blob.digest).string()});
  return split(listing, '\n');
}

std::string version_of(const std::vector<base::Package>& packages, std::string_view name) {
  for (const auto& package : packages)
    if (package.name == name) return package.version;
  return "";
}

bool contains_line(const std::vector<std::string>& lines, std::string_view line) {
  return std::find(lines.begin(), lines.end(), line) != lines.end();
}

// Lists files under `directory` whose names end with `suffix`.
std::vector<std::string> files_ending(const fs::path& directory, std::string_view suffix) {
  std::vector<std::string> found;
  if (!fs::is_directory(directory)) return found;
  for (const auto& entry : fs::recursive_directory_iterator(directory))
    if (ends_with(entry.path().filename().string(), suffix)) found.push_back(entry.path().string());
  return found;
}

}  // namespace

TEST_CASE("base: bookworm python3 base config", "[base][slow]") {
  TempDir temp("base-test-");
  store::Store store = store::Store::open(temp / "store");
  const image::Image& image = test::shared_bookworm_base(store, python3);

  REQUIRE(image.layers.size() == 1);
  const nlohmann::json& config = image.config;
  CHECK(config.at("os") == "linux");
  CHECK(config.at("architecture") == base::oci_platform(base::host_debian_architecture()).architecture);
  CHECK(config.at("created") == "2024-01-01T00:00:00Z");
  CHECK(config.at("config").at("Env") ==
        nlohmann::json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}));
  CHECK(config.at("config").at("Cmd") == nlohmann::json::array({"bash"}));
  CHECK(config.at("rootfs").at("diff_ids") == nlohmann::json::array({image.layers[0].diff_id.str()}));
  REQUIRE(config.at("history").size() == 1);
  CHECK(config.at("history")[0].at("created_by") == "imgbuild debian bookworm minbase: python3");
  CHECK(config.at("history")[0].at("created") == "2024-01-01T00:00:00Z");
  CHECK(image.layers[0].blob.media_type == image::media_type::oci_layer_gzip);
  CHECK(store.has_blob(image.layers[0].blob.digest));

  const auto& packages = test::shared_bookworm_packages(python3);
  CHECK(starts_with(version_of(packages, "python3"), "3.11"));
  CHECK_FALSE(version_of(packages, "base-files").empty());
  CHECK(version_of(packages, "systemd").empty());
}

TEST_CASE("base: cached base skips mmdebstrap", "[base][slow]") {
  store::Store store = store::Store::open(test::shared_base_store_dir());
  const image::Image& first = test::shared_bookworm_base(store, python3);

  std::vector<std::string> progress;
  base::BaseContext context = context_for(store, progress);
  // A missing program proves the cache path is taken: running it would fail.
  context.mmdebstrap = "/nonexistent/mmdebstrap";
  base::ResolvedBase resolved =
      base::resolve_base(base::DebianBase{.suite = "bookworm", .packages = {"python3", "python3"}}, context);

  CHECK(resolved.cached);
  CHECK(resolved.image.layers.at(0).diff_id == first.layers.at(0).diff_id);
  CHECK(resolved.image.config == first.config);
  CHECK(resolved.packages == test::shared_bookworm_packages(python3));
  CHECK_FALSE(resolved.previous_packages);
  CHECK(progress == std::vector<std::string>{
                        cat("base debian bookworm minbase: python3: cached, layer ", first.layers[0].diff_id.str())});

  context.pull = true;
  CHECK_THROWS_WITH(base::resolve_base(base::DebianBase{.suite = "bookworm", .packages = {"python3"}}, context),
                    Catch::Contains("program '/nonexistent/mmdebstrap' not found"));
}

TEST_CASE("base: same epoch same diff_id", "[base][slow]") {
  TempDir temp("base-test-");
  std::vector<Digest> diff_ids;
  for (int build = 0; build < 2; ++build) {
    store::Store store = store::Store::open(temp / cat("store-", build));
    std::vector<std::string> progress;
    base::BaseContext context = context_for(store, progress);
    base::DebianBaseResult result = base::build_debian_base(base::DebianBase{.suite = "bookworm"}, context);
    CHECK_FALSE(result.cached);
    CHECK(std::any_of(progress.begin(), progress.end(),
                      [](const std::string& line) { return starts_with(line, "base debian bookworm minbase: I: "); }));
    diff_ids.push_back(result.image.layers.at(0).diff_id);
  }
  CHECK(diff_ids[0] == diff_ids[1]);
}

TEST_CASE("base: package list matches dpkg-query", "[base][slow]") {
  TempDir temp("base-test-");
  store::Store store = store::Store::open(temp / "store");
  const image::Image& image = test::shared_bookworm_base(store, python3);
  unpack_base(store, image, temp / "rootfs");

  std::string listing = run_checked({"chroot", (temp / "rootfs").string(), "dpkg-query", "-W", "-f",
                                     "${db:Status-Abbrev}|${Package}|${Version}|${Architecture}\n"});
  std::vector<base::Package> queried;
  for (const auto& line : split(listing, '\n')) {
    if (line.empty()) continue;
    auto fields = split(line, '|');
    REQUIRE(fields.size() == 4);
    if (trim(fields[0]) == "ii") queried.push_back({fields[1], fields[2], fields[3]});
  }
  std::sort(queried.begin(), queried.end());

  const auto& packages = test::shared_bookworm_packages(python3);
  CHECK(packages.size() > 100);
  CHECK(packages == queried);
}

TEST_CASE("base: rootfs has no host files", "[base][slow]") {
  TempDir temp("base-test-");
  store::Store store = store::Store::open(temp / "store");
  auto paths = layer_paths(store, test::shared_bookworm_base(store, python3));

  CHECK(contains_line(paths, "etc/apt/apt.conf.d/docker-clean"));
  CHECK(contains_line(paths, "etc/apt/apt.conf.d/imgbuild-no-recommends"));
  CHECK(contains_line(paths, "dev/"));
  CHECK_FALSE(contains_line(paths, "etc/hostname"));
  CHECK_FALSE(contains_line(paths, "etc/resolv.conf"));
  CHECK_FALSE(contains_line(paths, "dev/null"));
  CHECK_FALSE(contains_line(paths, "var/cache/debconf/templates.dat-old"));
  CHECK(std::none_of(paths.begin(), paths.end(), [](const std::string& path) {
    return starts_with(path, "var/lib/apt/lists/") && path != "var/lib/apt/lists/" &&
           path != "var/lib/apt/lists/lock" && !starts_with(path, "var/lib/apt/lists/partial/");
  }));
}

TEST_CASE("base: apt settings keep caches out", "[base][slow]") {
  if (!test::is_root()) {
    WARN("skipped: chroot needs root");
    return;
  }
  TempDir temp("base-test-");
  store::Store store = store::Store::open(temp / "store");
  fs::path root = temp / "rootfs";
  unpack_base(store, test::shared_bookworm_base(store, python3), root);

  // apt inside the chroot needs /dev/null, but the base ships an empty /dev.
  if (::mknod((root / "dev/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) fail_errno("mknod dev/null");

  // Served over HTTP so apt downloads the .deb into /var/cache/apt/archives.
  // From a file:// source it would install the file in place.
  test::AptRepo repo(temp / "apt");
  repo.publish("1.0-1");
  int port = test::free_port();
  test::BackgroundProcess server({"python3", "-m", "http.server", std::to_string(port), "--bind", "127.0.0.1",
                                  "--directory", repo.repo_dir().string()},
                                 temp / "http.log");
  REQUIRE(test::wait_for_port(port));
  test::write(root / "etc/apt/imgbuild-test.list", test::AptRepo::http_source_line(port) + "\n");

  auto apt_get = [&](std::vector<std::string> arguments) {
    std::vector<std::string> argv{"chroot", root.string(), "apt-get", "-o",
                                  "Dir::Etc::SourceList=/etc/apt/imgbuild-test.list", "-o",
                                  "Dir::Etc::SourceParts=/nonexistent"};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    ProcessOptions options;
    options.extra_env = {"DEBIAN_FRONTEND=noninteractive"};
    return run_checked(argv, options);
  };
  apt_get({"update"});
  std::string install = apt_get({"install", "-y", "imgbuild-hello"});

  CHECK(install.find(cat("Get:1 http://127.0.0.1:", port, " ./ imgbuild-hello 1.0-1")) != std::string::npos);
  CHECK(read_file(root / "usr/share/imgbuild-hello/VERSION") == "1.0-1\n");
  CHECK(files_ending(root / "var/cache/apt", ".bin").empty());
  CHECK(files_ending(root / "var/cache/apt/archives", ".deb").empty());

  // Without docker-clean the same install leaves both behind, so the checks
  // above can fail.
  fs::remove(root / "etc/apt/apt.conf.d/docker-clean");
  apt_get({"update"});
  apt_get({"install", "-y", "--reinstall", "imgbuild-hello"});
  CHECK_FALSE(files_ending(root / "var/cache/apt", ".bin").empty());
  CHECK(files_ending(root / "var/cache/apt/archives", ".deb") ==
        std::vector<std::string>{(root / "var/cache/apt/archives/imgbuild-hello_1.0-1_all.deb").string()});
}

TEST_CASE("base: pull picks up a new version", "[base][slow]") {
  // The repository lives outside /tmp, because mmdebstrap empties the
  // chroot's /tmp itself and would hide leftover mount points there.
  TempDir temp("base-apt-repo-", test::shared_base_store_dir().parent_path());
  store::Store store = store::Store::open(temp / "store");
  test::AptRepo repo(temp / "apt");
  repo.publish("1.0-1");
  base::DebianBase debian{.suite = "bookworm", .packages = {"imgbuild-hello"}, .sources = {repo.source_line()}};

  std::vector<std::string> progress;
  base::BaseContext context = context_for(store, progress);
  base::ResolvedBase first = base::resolve_base(debian, context);
  CHECK_FALSE(first.cached);
  CHECK(version_of(first.packages, "imgbuild-hello") == "1.0-1");
  auto paths = layer_paths(store, first.image);
  CHECK(contains_line(paths, "usr/share/imgbuild-hello/VERSION"));
  // The mount point of the repository is gone from the layer, down to the
  // first directory that no package owns: a checkout under /tmp keeps /tmp,
  // which base-files owns, but not /tmp/ci.
  static const std::set<std::string> base_directories = {"tmp/", "var/", "srv/", "opt/", "home/", "root/",
                                                         "usr/", "etc/", "mnt/", "media/", "run/"};
  std::string repo_path = repo.repo_dir().relative_path().string();
  std::string first_unowned;
  for (const std::string& part : split(repo_path, '/')) {
    first_unowned += part + "/";
    if (!base_directories.count(first_unowned)) break;
  }
  CHECK_FALSE(contains_line(paths, first_unowned));

  repo.publish("1.1-1");
  context.mmdebstrap = "/nonexistent/mmdebstrap";
  base::ResolvedBase cached = base::resolve_base(debian, context);
  CHECK(cached.cached);
  CHECK(version_of(cached.packages, "imgbuild-hello") == "1.0-1");
  CHECK(cached.image.layers.at(0).diff_id == first.image.layers.at(0).diff_id);

  context.mmdebstrap = "mmdebstrap";
  context.pull = true;
  base::ResolvedBase pulled = base::resolve_base(debian, context);
  CHECK_FALSE(pulled.cached);
  CHECK(version_of(pulled.packages, "imgbuild-hello") == "1.1-1");
  REQUIRE(pulled.previous_packages);
  CHECK(*pulled.previous_packages == first.packages);
  CHECK(base::diff_packages(*pulled.previous_packages, pulled.packages) ==
        std::vector<base::PackageChange>{{"imgbuild-hello", "1.0-1", "1.1-1"}});
  CHECK(pulled.image.layers.at(0).diff_id != first.image.layers.at(0).diff_id);

  // The rebuilt base replaced the cache entry.
  context.pull = false;
  context.mmdebstrap = "/nonexistent/mmdebstrap";
  CHECK(version_of(base::resolve_base(debian, context).packages, "imgbuild-hello") == "1.1-1");
}
