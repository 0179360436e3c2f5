// SPDX-License-Identifier: Apache-2.0
#include "report/fixtures.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <catch2/catch.hpp>

#include "imgbuild/util/digest.hpp"
#include "imgbuild/util/error.hpp"

namespace imgbuild::test {

namespace {

// A tar+gzip writer, freed on destruction.
class TarGzWriter {
 public:
  explicit TarGzWriter(const std::filesystem::path& blob, const char* level = nullptr) : archive_(archive_write_new()) {
    archive_write_set_format_pax_restricted(archive_);
    archive_write_add_filter_gzip(archive_);
    if (level) archive_write_set_filter_option(archive_, "gzip", "compression-level", level);
    if (archive_write_open_filename(archive_, blob.c_str()) != ARCHIVE_OK)
      fail("cannot write ", blob.string(), ": ", archive_error_string(archive_));
  }
  ~TarGzWriter() { archive_write_free(archive_); }
  TarGzWriter(const TarGzWriter&) = delete;
  TarGzWriter& operator=(const TarGzWriter&) = delete;

  archive* get() { return archive_; }
  void close() {
    if (archive_write_close(archive_) != ARCHIVE_OK) fail("cannot finish tar: ", archive_error_string(archive_));
  }

 private:
  archive* archive_;
};

// An archive entry, freed on destruction.
struct EntryHandle {
  EntryHandle() : entry(archive_entry_new()) {}
  ~EntryHandle() { archive_entry_free(entry); }
  EntryHandle(const EntryHandle&) = delete;
  EntryHandle& operator=(const EntryHandle&) = delete;
  archive_entry* entry;
};

void write_member(archive* archive, const TarMember& member) {
  EntryHandle handle;
  archive_entry_set_pathname(handle.entry, member.path.c_str());
  archive_entry_set_mtime(handle.entry, 0, 0);
  if (member.type == 'd') {
    archive_entry_set_filetype(handle.entry, AE_IFDIR);
    archive_entry_set_perm(handle.entry, 0755);
  } else if (member.type == 'l') {
    archive_entry_set_filetype(handle.entry, AE_IFLNK);
    archive_entry_set_perm(handle.entry, 0777);
    archive_entry_set_symlink(handle.entry, member.content.c_str());
  } else if (member.type == 'h') {
    archive_entry_set_filetype(handle.entry, AE_IFREG);
    archive_entry_set_perm(handle.entry, 0644);
    archive_entry_set_hardlink(handle.entry, member.content.c_str());
  } else {
    archive_entry_set_filetype(handle.entry, AE_IFREG);
    archive_entry_set_perm(handle.entry, 0644);
    archive_entry_set_size(handle.entry, static_cast<la_int64_t>(member.content.size()));
  }
  if (archive_write_header(archive, handle.entry) != ARCHIVE_OK)
    fail("cannot write tar header for ", member.path, ": ", archive_error_string(archive));
  if (member.type == 'f' && !member.content.empty())
    archive_write_data(archive, member.content.data(), member.content.size());
}

}  // namespace

void write_layer(const std::filesystem::path& blob, const std::vector<TarMember>& members) {
  TarGzWriter writer(blob);
  for (const TarMember& member : members) write_member(writer.get(), member);
  writer.close();
}

void write_zero_file_layer(const std::filesystem::path& blob, const std::string& path, std::uint64_t size) {
  TarGzWriter writer(blob, "1");
  EntryHandle handle;
  archive_entry_set_pathname(handle.entry, path.c_str());
  archive_entry_set_filetype(handle.entry, AE_IFREG);
  archive_entry_set_perm(handle.entry, 0644);
  archive_entry_set_size(handle.entry, static_cast<la_int64_t>(size));
  if (archive_write_header(writer.get(), handle.entry) != ARCHIVE_OK)
    fail("cannot write tar header: ", archive_error_string(writer.get()));
  std::string zeros(1 << 20, '\0');
  for (std::uint64_t written = 0; written < size; written += zeros.size())
    archive_write_data(writer.get(), zeros.data(), std::min<std::uint64_t>(zeros.size(), size - written));
  writer.close();
}

image::Image image_of(const std::string& name, const std::vector<std::filesystem::path>& blobs,
                      const std::vector<std::string>& steps) {
  image::Image image;
  image.name = name;
  image.config = {{"architecture", "amd64"}, {"os", "linux"}, {"config", nlohmann::json::object()}};
  image.config["history"] = nlohmann::json::array();
  for (std::size_t i = 0; i < blobs.size(); ++i) {
    image::Layer layer;
    layer.blob.media_type = image::media_type::oci_layer_gzip;
    layer.blob.digest = sha256_of_file(blobs[i]);
    layer.blob.size = static_cast<std::int64_t>(std::filesystem::file_size(blobs[i]));
    // The tests never need the real diff_id; the blob digest identifies
    // the layer just as well here.
    layer.diff_id = layer.blob.digest;
    image.layers.push_back(layer);
    image.config["history"].push_back({{"created_by", i < steps.size() ? steps[i] : ""}});
  }
  return image;
}

report::Package deb_package(const std::string& name, const std::string& version,
                            const std::string& architecture, int layer) {
  report::Package package;
  package.name = name;
  package.version = version;
  package.architecture = architecture;
  package.source = name;
  package.source_version = version;
  package.layer = layer;
  return package;
}

report::Package python_package(const std::string& name, const std::string& version) {
  report::Package package;
  package.ecosystem = report::Ecosystem::python;
  package.name = name;
  package.version = version;
  return package;
}

}  // namespace imgbuild::test
