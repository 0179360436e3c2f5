// SPDX-License-Identifier: Apache-2.0
#include "layer/layer_support.hpp"

#include <catch2/catch.hpp>

#include "imgbuild/layer/unpack.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/process.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::test {
namespace {

// Python decodes names with surrogateescape so every byte survives, and
// prints them with backslashreplace.
constexpr const char* listing_script = R"(
import sys, tarfile
def show(text):
    return text.encode('utf-8', 'surrogateescape').decode('ascii', 'backslashreplace').replace('\n', '\\n')
types = {tarfile.REGTYPE: 'f', tarfile.AREGTYPE: 'f', tarfile.DIRTYPE: 'd', tarfile.SYMTYPE: 'l',
         tarfile.LNKTYPE: 'h', tarfile.CHRTYPE: 'c', tarfile.BLKTYPE: 'b', tarfile.FIFOTYPE: 'p'}
with tarfile.open(sys.argv[1], 'r:*', encoding='utf-8', errors='surrogateescape') as archive:
    for member in archive:
        if sys.argv[2] == 'pax':
            for key, value in sorted(member.pax_headers.items()):
                print(show(member.name), show(key) + '=' + show(value))
            continue
        line = types.get(member.type, '?' + member.type.decode()) + ' ' + show(member.name)
        if member.issym() or member.islnk():
            line += ' -> ' + show(member.linkname)
        if member.ischr() or member.isblk():
            line += ' %d:%d' % (member.devmajor, member.devminor)
        line += ' %d %04o %d:%d %d' % (member.size, member.mode, member.uid, member.gid, member.mtime)
        print(line)
)";

// Python 3.11's tarfile cannot read zstd, so those blobs are decompressed first.
std::vector<std::string> run_listing(const std::filesystem::path& blob, const char* mode) {
  TempDir temp("imgbuild-listing-");
  std::filesystem::path input = blob;
  if (layer::sniff_compression(blob) == layer::Compression::zstd) {
    input = temp / "layer.tar";
    run_checked({"zstd", "-q", "-d", blob.string(), "-o", input.string()});
  }
  std::string out = run_checked({"python3", "-c", listing_script, input.string(), mode});
  std::vector<std::string> lines;
  for (auto& line : split(out, '\n')) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

}  // namespace

layer::Entry file_entry(const std::string& path, const std::string& content, std::uint32_t mode) {
  layer::Entry entry;
  entry.path = path;
  entry.type = layer::EntryType::regular;
  entry.mode = mode;
  entry.size = content.size();
  entry.content = content;
  return entry;
}

layer::Entry dir_entry(const std::string& path, std::uint32_t mode) {
  layer::Entry entry;
  entry.path = path;
  entry.type = layer::EntryType::directory;
  entry.mode = mode;
  return entry;
}

layer::Entry symlink_entry(const std::string& path, const std::string& target) {
  layer::Entry entry;
  entry.path = path;
  entry.type = layer::EntryType::symlink;
  entry.mode = 0777;
  entry.link_target = target;
  return entry;
}

layer::Entry hardlink_entry(const std::string& path, const std::string& target) {
  layer::Entry entry;
  entry.path = path;
  entry.type = layer::EntryType::hardlink;
  entry.link_target = target;
  return entry;
}

layer::LayerResult write_test_layer(store::Store& store, std::vector<layer::Entry> entries, layer::Compression compression) {
  layer::WriteOptions options;
  options.compression = compression;
  options.epoch = 0;
  return layer::write_layer(std::move(entries), options, store);
}

std::vector<std::string> python_listing(const std::filesystem::path& blob) { return run_listing(blob, "list"); }

std::vector<std::string> python_pax_records(const std::filesystem::path& blob) { return run_listing(blob, "pax"); }

void check_blob_with_tools(const std::filesystem::path& blob) {
  ProcessResult result;
  switch (layer::sniff_compression(blob)) {
    case layer::Compression::gzip:
      result = run_process({"gzip", "-t", blob.string()});
      break;
    case layer::Compression::zstd:
      result = run_process({"zstd", "-q", "-t", blob.string()});
      break;
    case layer::Compression::none:
      result = run_process({"tar", "-tf", blob.string()});
      break;
  }
  INFO(result.err);
  CHECK(result.exit_code == 0);
}

}  // namespace imgbuild::test
