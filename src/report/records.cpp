// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/report/records.hpp"

#include <fcntl.h>

#include <cerrno>
#include <cstdio>
#include <fstream>

#include "imgbuild/store/store.hpp"
#include "imgbuild/util/json.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/fs.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::report {

std::string escape_record_name(std::string_view name) {
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      out += static_cast<char>(c);
    } else {
      char buffer[4];
      std::snprintf(buffer, sizeof buffer, "%%%02X", c);
      out += buffer;
    }
  }
  // "." and ".." would not be a directory of their own.
  if (out.empty() || out == "." || out == "..") out = "%" + out;
  return out;
}

namespace {

fs::path record_directory(const fs::path& records_dir, std::string_view name, std::string_view target) {
  return records_dir / escape_record_name(name) / escape_record_name(target);
}

// Sequence numbers of the records in `directory`, newest first.
std::vector<unsigned long> sequence_numbers(const fs::path& directory) {
  std::vector<unsigned long> numbers;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(directory, error)) {
    std::string file = entry.path().filename().string();
    if (!ends_with(file, ".json") || file.size() <= 5) continue;
    std::string stem = file.substr(0, file.size() - 5);
    if (stem.find_first_not_of("0123456789") != std::string::npos) continue;
    numbers.push_back(std::stoul(stem));
  }
  std::sort(numbers.rbegin(), numbers.rend());
  return numbers;
}

std::string record_file_name(unsigned long sequence) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%06lu.json", sequence);
  return buffer;
}

}  // namespace

fs::path write_record(const fs::path& records_dir, const Snapshot& snapshot) {
  fs::path directory = record_directory(records_dir, snapshot.name, snapshot.target);
  fs::create_directories(directory);
  std::string text = json_text(to_json(snapshot), 2) + "\n";

  // O_EXCL claims a sequence number; a writer that loses the race takes the next.
  std::vector<unsigned long> numbers = sequence_numbers(directory);
  unsigned long sequence = numbers.empty() ? 1 : numbers.front() + 1;
  for (int attempt = 0; attempt < 1000; ++attempt, ++sequence) {
    fs::path path = directory / record_file_name(sequence);
    UniqueFd claim(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!claim.valid() && errno == EEXIST) continue;
    if (!claim.valid()) fail_errno(cat("creating build record ", quote(path.string())));
    write_file_atomic(path, text);
    return path;
  }
  fail("cannot claim a build record number in ", quote(directory.string()),
       "; remove stale records there and build again");
}

fs::path write_record(const store::Store& store, const Snapshot& snapshot) {
  return write_record(store.records_dir(), snapshot);
}

std::optional<Snapshot> find_previous_build(const fs::path& records_dir, std::string_view name,
                                            std::string_view target) {
  fs::path directory = record_directory(records_dir, name, target);
  for (unsigned long sequence : sequence_numbers(directory)) {
    fs::path path = directory / record_file_name(sequence);
    try {
      std::string text = read_file(path);
      // An empty file is a record another build is still writing.
      if (text.empty()) continue;
      Snapshot snapshot = snapshot_from_json(nlohmann::json::parse(text));
      if (snapshot.success) return snapshot;
    } catch (const std::exception& error) {
      log::warn(cat("skipping build record ", quote(path.string()), ": ", error.what()));
    }
  }
  return std::nullopt;
}

std::optional<Snapshot> find_previous_build(const store::Store& store, std::string_view name,
                                            std::string_view target) {
  return find_previous_build(store.records_dir(), name, target);
}

bool is_json_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  while (in.get(c))
    if (!std::isspace(static_cast<unsigned char>(c))) return c == '{';
  return false;
}

Snapshot load_snapshot_file(const fs::path& path) {
  return with_context(cat("reading ", quote(path.string())), [&] {
    nlohmann::json json;
    try {
      json = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& error) {
      fail("invalid JSON: ", error.what());
    }
    if (json.is_object() && json.contains("current") && json.value("schema", "") == "imgbuild-report/1")
      return snapshot_from_json(json["current"]);
    return snapshot_from_json(json);
  });
}

}  // namespace imgbuild::report
