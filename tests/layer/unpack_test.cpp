// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "imgbuild/layer/mount_stack.hpp"
#include "imgbuild/layer/scan.hpp"
#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/layer/writer.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/strings.hpp"
#include "layer/layer_support.hpp"
#include "support/toolkit.hpp"

using namespace imgbuild;
using namespace imgbuild::test;
using layer::Compression;

namespace {

// Builds a tar with Python's tarfile, which writes names the way a hostile
// layer would: "..", absolute paths, links through symlinks. Each member is
// [name, type, content-or-link] with type f (file), l (symlink), h (hardlink).
void craft_tar(const fs::path& tar, const nlohmann::json& members) {
  static const char* script = R"(
import io, json, sys, tarfile
with tarfile.open(sys.argv[1], 'w', format=tarfile.PAX_FORMAT) as archive:
    for name, kind, value in json.loads(sys.argv[2]):
        info = tarfile.TarInfo(name)
        if kind == 'f':
            data = value.encode()
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
            continue
        info.type = {'l': tarfile.SYMTYPE, 'h': tarfile.LNKTYPE, 'd': tarfile.DIRTYPE}[kind]
        info.linkname = value
        if kind == 'd':
            info.mode = 0o755
        archive.addfile(info)
)";
  run_checked({"python3", "-c", script, tar.string(), members.dump()});
}

std::string file_text(const fs::path& path) { return read_file(path); }

// A sandbox whose unpack root sits two levels down, so an escape by "../"
// lands in a directory the test can inspect.
struct Sandbox {
  TempDir temp{"imgbuild-unpack-"};
  fs::path root = temp / "outer/inner/rootfs";
  Sandbox() { fs::create_directories(root); }
};

std::vector<std::string> names_in(const fs::path& directory) {
  std::vector<std::string> names;
  for (const auto& item : fs::directory_iterator(directory)) names.push_back(item.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> etc_listing() { return names_in("/etc"); }

class OverlayMount {
 public:
  OverlayMount(const std::vector<fs::path>& lowers, const fs::path& upper, const fs::path& work, const fs::path& merged)
      : merged_(merged) {
    std::string options = layer::lowerdir_option(lowers) + ",upperdir=" + upper.string() + ",workdir=" + work.string();
    if (::mount("overlay", merged.c_str(), "overlay", 0, options.c_str()) != 0) fail_errno(cat("mount overlay ", options));
  }
  ~OverlayMount() { ::umount2(merged_.c_str(), MNT_DETACH); }

 private:
  fs::path merged_;
};

}  // namespace

TEST_CASE("layer: unpack rejects escapes", "[layer]") {
  Sandbox sandbox;
  std::string passwd_before = read_file("/etc/passwd");
  auto etc_before = etc_listing();

  struct Case {
    const char* name;
    nlohmann::json members;
    std::string error;  // empty: must succeed
  };
  std::vector<Case> cases = {
      {"a", {{"../../escape-a.txt", "f", "a"}}, "entry '../../escape-a.txt' has a '..' component"},
      {"b", {{"/abs-b.txt", "f", "b"}}, ""},
      {"c", {{"lnk", "l", "/"}, {"lnk/etc/evil-c", "f", "c"}}, ""},
      {"d", {{"hl", "h", "../../../etc/passwd"}}, "entry 'hl': hardlink target '../../../etc/passwd' has a '..' component"},
      {"e", {{"dirlink", "l", "../../.."}, {"dirlink/escape-e.txt", "f", "e"}}, ""},
      {"f", {{".", "l", "/"}, {"dot-f.txt", "f", "f"}}, ""},
  };
  for (const Case& item : cases) {
    INFO("case " << item.name);
    fs::path tar = sandbox.temp / cat(item.name, ".tar");
    craft_tar(tar, item.members);
    layer::ReadOptions options;
    options.layer_name = cat("case-", item.name);
    if (item.error.empty()) {
      CHECK_NOTHROW(layer::unpack_flat(tar, sandbox.root, options));
    } else {
      CHECK_THROWS_WITH(layer::unpack_flat(tar, sandbox.root, options),
                        Catch::Contains("layer case-" + std::string(item.name)) && Catch::Contains(item.error));
    }
  }

  CHECK(file_text(sandbox.root / "abs-b.txt") == "b");
  CHECK(file_text(sandbox.root / "etc/evil-c") == "c");
  CHECK(file_text(sandbox.root / "escape-e.txt") == "e");
  CHECK(file_text(sandbox.root / "dot-f.txt") == "f");
  CHECK(fs::read_symlink(sandbox.root / "lnk") == "/");
  CHECK(!fs::exists(sandbox.root / "hl"));

  // Nothing appeared beside the root or in the host's /etc.
  CHECK(names_in(sandbox.temp.path()) == std::vector<std::string>{"a.tar", "b.tar", "c.tar", "d.tar", "e.tar", "f.tar", "outer"});
  CHECK(names_in(sandbox.temp / "outer") == std::vector<std::string>{"inner"});
  CHECK(names_in(sandbox.temp / "outer/inner") == std::vector<std::string>{"rootfs"});
  CHECK(!fs::exists("/escape-e.txt"));
  CHECK(!fs::exists("/abs-b.txt"));
  CHECK(etc_listing() == etc_before);
  CHECK(read_file("/etc/passwd") == passwd_before);
}

TEST_CASE("layer: whited-out hardlink target keeps content", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  auto first = write_test_layer(store, {dir_entry("bin"), file_entry("bin/tool", "tool-v1\n", 0755), hardlink_entry("bin/alias", "bin/tool")});
  auto second = write_test_layer(store, {dir_entry("bin"), layer::whiteout("bin/tool")});
  CHECK(python_listing(store.blob_path(second.digest)) == std::vector<std::string>{"d bin 0 0755 0:0 0", "f bin/.wh.tool 0 0644 0:0 0"});

  fs::path root = temp / "rootfs";
  fs::create_directories(root);
  layer::unpack_layers_flat(store, {first.diff_id, second.diff_id}, root);
  CHECK(list_tree(root) == std::vector<std::string>{"d 0755 0:0 bin/", "f 0755 0:0 8 bin/alias"});
  CHECK(file_text(root / "bin/alias") == "tool-v1\n");
}

TEST_CASE("layer: opaque directories hide lower content", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  auto base = write_test_layer(store, {dir_entry("a"), dir_entry("a/b"), dir_entry("a/b/c"), file_entry("a/b/c/bar", "bar"),
                                       dir_entry("foo"), dir_entry("foo/bar")});
  auto first = write_test_layer(store, {dir_entry("a"), dir_entry("a/b"), dir_entry("a/b/c"), layer::opaque_marker("a/b/c"),
                                        file_entry("a/b/c/foo", "")});
  auto second = write_test_layer(store, {layer::whiteout("foo/bar"), dir_entry("foo"), dir_entry("foo/baz")});
  CHECK(python_listing(store.blob_path(first.digest)) ==
        std::vector<std::string>{"d a 0 0755 0:0 0", "d a/b 0 0755 0:0 0", "d a/b/c 0 0755 0:0 0",
                                 "f a/b/c/.wh..wh..opq 0 0644 0:0 0", "f a/b/c/foo 0 0644 0:0 0"});
  CHECK(python_listing(store.blob_path(second.digest)) ==
        std::vector<std::string>{"d foo 0 0755 0:0 0", "f foo/.wh.bar 0 0644 0:0 0", "d foo/baz 0 0755 0:0 0"});

  std::vector<std::string> expected = {"d 0755 0:0 a/",    "d 0755 0:0 a/b/",     "d 0755 0:0 a/b/c/",
                                       "d 0755 0:0 foo/", "d 0755 0:0 foo/baz/", "f 0644 0:0 0 a/b/c/foo"};
  fs::path flat = temp / "flat";
  fs::create_directories(flat);
  layer::unpack_layers_flat(store, {base.diff_id, first.diff_id, second.diff_id}, flat);
  CHECK(list_tree(flat) == expected);

  // The overlay lower form carries the same meaning for the kernel.
  fs::path lower1 = layer::ensure_unpacked(store, first.diff_id);
  fs::path lower2 = layer::ensure_unpacked(store, second.diff_id);
  char value[4] = {};
  CHECK(::getxattr((lower1 / "a/b/c").c_str(), "trusted.overlay.opaque", value, sizeof value) == 1);
  CHECK(std::string(value) == "y");
  struct stat info {};
  REQUIRE(::lstat((lower2 / "foo/bar").c_str(), &info) == 0);
  CHECK(S_ISCHR(info.st_mode));
  CHECK(info.st_rdev == makedev(0, 0));
  CHECK(layer::ensure_unpacked(store, first.diff_id) == lower1);

  if (!is_root()) return;
  fs::create_directories(temp / "upper");
  fs::create_directories(temp / "work");
  fs::create_directories(temp / "merged");
  {
    OverlayMount mount({layer::ensure_unpacked(store, base.diff_id), lower1, lower2}, temp / "upper", temp / "work", temp / "merged");
    CHECK(list_tree(temp / "merged") == expected);
  }
}

TEST_CASE("layer: overlay upper becomes a changeset", "[layer]") {
  if (!is_root()) {
    WARN("skipped: mounting overlayfs needs root");
    return;
  }
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  auto base = write_test_layer(store, {dir_entry("root", 0700), dir_entry("root/dirA"), dir_entry("root/dirA/dirB"),
                                       file_entry("root/dirA/dirB/fileA", "A"), dir_entry("a"), dir_entry("a/c"),
                                       file_entry("a/c/bar", "bar")});
  std::vector<fs::path> lowers = {layer::ensure_unpacked(store, base.diff_id)};
  std::vector<Digest> stack = {base.diff_id};

  auto step = [&](const std::function<void(const fs::path&)>& change) {
    TempDir scratch("imgbuild-step-");
    for (const char* dir : {"upper", "work", "merged"}) fs::create_directories(scratch / dir);
    {
      OverlayMount mount(lowers, scratch / "upper", scratch / "work", scratch / "merged");
      change(scratch / "merged");
    }
    layer::ScanOptions options;
    options.exclude = {"var/log/*"};
    auto result = write_test_layer(store, layer::changes_from_overlay_upper(scratch / "upper", options));
    lowers.push_back(layer::ensure_unpacked(store, result.diff_id));
    stack.push_back(result.diff_id);
    return python_listing(store.blob_path(result.digest));
  };

  auto delete_dir = step([](const fs::path& merged) {
    fs::remove_all(merged / "root/dirA");
    write(merged / "var/log/dpkg.log", "volatile");
  });
  CHECK(delete_dir == std::vector<std::string>{"d root 0 0700 0:0 0", "f root/.wh.dirA 0 0644 0:0 0", "d var 0 0755 0:0 0",
                                               "d var/log 0 0755 0:0 0"});

  auto recreate = step([](const fs::path& merged) {
    fs::create_directories(merged / "root/dirA/dirC");
    write(merged / "root/dirA/dirC/new", "");
    fs::remove_all(merged / "a/c");
    fs::create_directories(merged / "a/c");
    write(merged / "a/c/foo", "");
  });
  for (auto& line : recreate) line = line.substr(0, line.rfind(' '));  // mtimes are clamped to 0 anyway
  CHECK(recreate == std::vector<std::string>{"d a 0 0755 0:0", "d a/c 0 0755 0:0", "f a/c/.wh..wh..opq 0 0644 0:0",
                                             "f a/c/foo 0 0644 0:0", "d root 0 0700 0:0", "d root/dirA 0 0755 0:0",
                                             "d root/dirA/dirC 0 0755 0:0", "f root/dirA/dirC/new 0 0644 0:0"});

  fs::path flat = temp / "flat";
  fs::create_directories(flat);
  layer::unpack_layers_flat(store, stack, flat);
  CHECK(list_tree(flat) == std::vector<std::string>{"d 0700 0:0 root/", "d 0755 0:0 a/", "d 0755 0:0 a/c/", "d 0755 0:0 root/dirA/",
                                                    "d 0755 0:0 root/dirA/dirC/", "d 0755 0:0 var/", "d 0755 0:0 var/log/",
                                                    "f 0644 0:0 0 a/c/foo", "f 0644 0:0 0 root/dirA/dirC/new"});
}

TEST_CASE("layer: multi-member gzip layer imports unchanged", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  fs::create_directories(temp / "src/d");
  std::string one, two;
  for (int i = 0; i < 20480; ++i) {
    one += static_cast<char>((i * 7919 + 13) % 251);
    two += static_cast<char>((i * 104729 + 7) % 241);
  }
  write(temp / "src/d/one", one);
  write(temp / "src/d/two", two);
  run_checked({"tar", "-C", (temp / "src").string(), "-cf", (temp / "layer.tar").string(), "d/", "d/one", "d/two"});
  run_checked({"sh", "-c", "head -c 20480 layer.tar | gzip -n > m.gz && tail -c +20481 layer.tar | gzip -n >> m.gz"},
              ProcessOptions{.working_directory = temp.path()});
  Digest tar_digest = sha256_of_file(temp / "layer.tar");
  Digest blob_digest = sha256_of_file(temp / "m.gz");

  auto result = layer::import_layer_blob(store, temp / "m.gz", blob_digest, tar_digest);
  CHECK(result.diff_id == tar_digest);
  CHECK(result.digest == blob_digest);
  CHECK(result.compression == Compression::gzip);
  CHECK(result.uncompressed_size == fs::file_size(temp / "layer.tar"));
  CHECK(store.find_layer(tar_digest)->blobs.at("gzip").digest == blob_digest);

  fs::path lower = layer::ensure_unpacked(store, tar_digest);
  CHECK(file_text(lower / "d/one") == one);
  CHECK(file_text(lower / "d/two") == two);

  // Only the first member: the tar is cut short, which must be an error.
  run_checked({"sh", "-c", "head -c 20480 layer.tar | gzip -n > first.gz"}, ProcessOptions{.working_directory = temp.path()});
  CHECK_THROWS_WITH(layer::import_layer_blob(store, temp / "first.gz", std::nullopt, tar_digest),
                    Catch::Contains("invalid tar stream: Truncated input file"));
  fs::create_directories(temp / "cut");
  layer::ReadOptions options;
  options.diff_id = tar_digest;
  options.layer_name = "first-member";
  CHECK_THROWS_WITH(layer::unpack_flat(temp / "first.gz", temp / "cut", options),
                    Catch::Equals("layer first-member: entry 'd/one': cannot read the entry content: Truncated tar archive"));

  // A complete stream whose tar differs from the declared diff_id.
  Digest other = sha256_of("another tar");
  CHECK_THROWS_WITH(layer::import_layer_blob(store, temp / "m.gz", std::nullopt, other),
                    Catch::Contains("the uncompressed tar hashes to " + tar_digest.str()) &&
                        Catch::Contains("but its diff_id is " + other.str()));
}

TEST_CASE("layer: corrupt blob fails unpack", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  auto result = write_test_layer(store, {file_entry("f", std::string(5000, 'x'))}, Compression::zstd);
  fs::path blob = store.blob_path(result.digest);
  {
    UniqueFd fd = open_file(blob, O_WRONLY | O_APPEND);
    write_all(fd.get(), "trailing");
  }
  CHECK_THROWS_WITH(layer::ensure_unpacked(store, result.diff_id),
                    Catch::Contains("the blob hashes to") && Catch::Contains(result.digest.str() + " was expected"));
  CHECK(!fs::exists(store.unpacked_dir(result.diff_id)));
}

TEST_CASE("layer: many lower layers fit one mount", "[layer]") {
  TempDir temp;
  auto store = store::Store::open(temp / "store");
  std::vector<Digest> diff_ids;
  for (int i = 0; i < 60; ++i) {
    std::vector<layer::Entry> entries = {dir_entry("data"), file_entry(cat("data/file", i), cat(i))};
    if (i > 0) entries.push_back(layer::whiteout(cat("data/file", i - 1)));
    diff_ids.push_back(write_test_layer(store, entries).diff_id);
  }
  std::size_t reserved = 2 * (store.root().string().size() + 40);
  auto lowers = layer::lower_dirs_for_mount(store, diff_ids, reserved);
  std::string option = layer::lowerdir_option(lowers);
  CHECK(option.size() + reserved < layer::mount_options_limit);
  CHECK(lowers.size() < diff_ids.size());
  CHECK(lowers.back() == store.unpacked_dir(diff_ids.back()));
  CHECK(starts_with(lowers.front().filename().string(), "chain-"));
  CHECK(list_tree(lowers.front()).size() == 2);  // data/ and the one file that survived the merged layers

  if (!is_root()) return;
  for (const char* dir : {"upper", "work", "merged"}) fs::create_directories(temp / dir);
  OverlayMount mount(lowers, temp / "upper", temp / "work", temp / "merged");
  CHECK(list_tree(temp / "merged") == std::vector<std::string>{"d 0755 0:0 data/", "f 0644 0:0 2 data/file59"});
}
