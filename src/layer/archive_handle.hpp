// SPDX-License-Identifier: Apache-2.0
// RAII owners for libarchive handles and the per-thread locale libarchive
// uses to convert names. Internal to the layer module.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <clocale>
#include <locale.h>
#include <string_view>

#include "imgbuild/util/error.hpp"

namespace imgbuild::layer {

class ArchiveWriter {
 public:
  ArchiveWriter() : handle_(archive_write_new()) {
    if (!handle_) fail("libarchive: cannot allocate a writer");
  }
  ~ArchiveWriter() { archive_write_free(handle_); }
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;
  archive* get() const { return handle_; }

 private:
  archive* handle_;
};

class ArchiveReader {
 public:
  ArchiveReader() : handle_(archive_read_new()) {
    if (!handle_) fail("libarchive: cannot allocate a reader");
  }
  ~ArchiveReader() { archive_read_free(handle_); }
  ArchiveReader(const ArchiveReader&) = delete;
  ArchiveReader& operator=(const ArchiveReader&) = delete;
  archive* get() const { return handle_; }

 private:
  archive* handle_;
};

class ArchiveEntry {
 public:
  ArchiveEntry() : handle_(archive_entry_new()) {
    if (!handle_) fail("libarchive: cannot allocate an entry");
  }
  ~ArchiveEntry() { archive_entry_free(handle_); }
  ArchiveEntry(const ArchiveEntry&) = delete;
  ArchiveEntry& operator=(const ArchiveEntry&) = delete;
  archive_entry* get() const { return handle_; }

 private:
  archive_entry* handle_;
};

// Switches the calling thread to the C.UTF-8 locale while alive. libarchive
// converts names between UTF-8 (pax records) and the locale's charset, so a
// fixed locale makes the bytes written and read independent of the
// environment: valid UTF-8 names pass through, and other names are written
// raw with hdrcharset=BINARY.
class Utf8Locale {
 public:
  Utf8Locale() : locale_(newlocale(LC_ALL_MASK, "C.UTF-8", nullptr)) {
    if (locale_ == nullptr) fail("cannot load the C.UTF-8 locale that layer names are converted with");
    previous_ = uselocale(locale_);
  }
  ~Utf8Locale() {
    uselocale(previous_);
    freelocale(locale_);
  }
  Utf8Locale(const Utf8Locale&) = delete;
  Utf8Locale& operator=(const Utf8Locale&) = delete;

 private:
  locale_t locale_;
  locale_t previous_ = nullptr;
};

// Throws an Error with libarchive's message for `handle`.
[[noreturn]] inline void fail_archive(archive* handle, std::string_view what) {
  const char* message = archive_error_string(handle);
  fail(what, ": ", message ? message : "unknown libarchive error");
}

}  // namespace imgbuild::layer
