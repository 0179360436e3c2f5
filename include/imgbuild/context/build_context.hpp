// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "imgbuild/context/ignore.hpp"
#include "imgbuild/context/source_tree.hpp"

namespace imgbuild::context {

class StatCache;

// The files a recipe's copy steps read from: a directory, or the committed
// tree of a git commit. Ignore rules are applied when copying.
class BuildContext : public SourceTree {
 public:
  SourceKind kind() const override { return SourceKind::context; }
  bool excluded(std::string_view path) const override { return ignore_rules().excluded(path); }
  bool walk_below(std::string_view directory) const override { return ignore_rules().walk_below(directory); }

  virtual const IgnoreRules& ignore_rules() const = 0;

  // Commit time in seconds for a git context, usable as the build epoch.
  virtual std::optional<std::int64_t> commit_time() const { return std::nullopt; }

  // Image annotations the context contributes: for git,
  // org.opencontainers.image.source and org.opencontainers.image.revision.
  virtual std::map<std::string, std::string> annotations() const { return {}; }
};

// Location and kind of a build context.
struct ContextSource {
  std::string location;                          // directory, git repository path or file:// URL
  std::optional<std::string> git_ref;            // set: read `location` as git at this commit, branch or tag
  std::string git_subdirectory;                  // with `git_ref`: directory of the commit used as the root; "" for all
  std::optional<std::filesystem::path> ignore_file;  // overrides .imgbuildignore / .dockerignore
};

// Opens a directory context. Files are hashed through `stat_cache` when given.
std::unique_ptr<BuildContext> open_directory_context(const std::filesystem::path& directory,
                                                     const std::optional<std::filesystem::path>& ignore_file = {},
                                                     std::shared_ptr<StatCache> stat_cache = {});

// Opens the committed tree of `ref` (a commit id, branch or tag) in the local
// git repository `repository` (a path or file:// URL). Untracked, ignored and
// modified working-copy files are never seen. Tree entries get mode 0644,
// 0755 or a symlink, owner 0:0, and the commit time as mtime.
// A non-empty `subdirectory` ("services/api") makes that directory of the
// commit the context root: copy sources, symlinks and the ignore file are
// resolved inside it. Throws when it is missing from the commit, is not a
// directory or contains "..".
std::unique_ptr<BuildContext> open_git_context(std::string_view repository, std::string_view ref,
                                               std::string_view subdirectory = {},
                                               const std::optional<std::filesystem::path>& ignore_file = {});

// Opens either kind from `source`.
std::unique_ptr<BuildContext> open_build_context(const ContextSource& source,
                                                 std::shared_ptr<StatCache> stat_cache = {});

// Removes "user:password@" from a URL so it can go into an annotation or log.
std::string strip_credentials(std::string_view url);

}  // namespace imgbuild::context
