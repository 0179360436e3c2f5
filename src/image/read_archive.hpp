// SPDX-License-Identifier: Apache-2.0
// Owner of a libarchive read handle, internal to the image module.
#pragma once

#include <archive.h>

#include "imgbuild/util/error.hpp"

namespace imgbuild::image::detail {

class ReadArchive {
 public:
  ReadArchive() : handle_(archive_read_new()) {
    if (!handle_) fail("libarchive: out of memory creating a reader");
  }
  ~ReadArchive() { archive_read_free(handle_); }
  ReadArchive(const ReadArchive&) = delete;
  ReadArchive& operator=(const ReadArchive&) = delete;
  archive* get() const { return handle_; }

 private:
  archive* handle_;
};

}  // namespace imgbuild::image::detail
