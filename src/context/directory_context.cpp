// SPDX-License-Identifier: Apache-2.0
#include <system_error>

#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/rootfs_view.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

// A context directory: a plain RootfsView plus the ignore rules.
class DirectoryContext final : public BuildContext {
 public:
  DirectoryContext(RootfsView view, IgnoreRules rules) : view_(std::move(view)), rules_(std::move(rules)) {}

  std::string describe() const override { return view_.describe(); }
  std::optional<FileInfo> entry(std::string_view path) const override {
    std::optional<FileInfo> info = view_.entry(path);
    // The context root's own mode comes from where it was checked out or
    // created (mkdtemp gives 0700); copying "." should not depend on that.
    if (info && path.empty()) info->mode = 0755;
    return info;
  }
  std::vector<std::string> list(std::string_view path) const override { return view_.list(path); }
  std::vector<DirectoryEntry> scan(std::string_view path) const override { return view_.scan(path); }
  std::map<std::string, std::string> xattrs(std::string_view path) const override { return view_.xattrs(path); }
  void attach_content(std::string_view path, layer::Entry& entry) const override {
    view_.attach_content(path, entry);
  }
  std::string read(std::string_view path, std::size_t limit) const override { return view_.read(path, limit); }
  ContentInfo content_info(std::string_view path, const FileInfo& info) const override {
    return view_.content_info(path, info);
  }
  const IgnoreRules& ignore_rules() const override { return rules_; }

 private:
  RootfsView view_;
  IgnoreRules rules_;
};

}  // namespace

std::unique_ptr<BuildContext> open_directory_context(const std::filesystem::path& directory,
                                                     const std::optional<std::filesystem::path>& ignore_file,
                                                     std::shared_ptr<StatCache> stat_cache) {
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error))
    fail_with(ExitCode::usage, "build context ", quote(directory.string()),
              " is not a directory; pass an existing directory or a git repository with a ref");

  IgnoreRules rules = load_ignore_rules(directory, ignore_file);
  RootfsView view = RootfsView::plain(directory, cat("build context ", quote(directory.string())));
  view.set_kind(SourceKind::context);
  view.use_stat_cache(std::move(stat_cache));
  return std::make_unique<DirectoryContext>(std::move(view), std::move(rules));
}

std::unique_ptr<BuildContext> open_build_context(const ContextSource& source,
                                                 std::shared_ptr<StatCache> stat_cache) {
  if (source.git_ref)
    return open_git_context(source.location, *source.git_ref, source.git_subdirectory, source.ignore_file);
  return open_directory_context(source.location, source.ignore_file, std::move(stat_cache));
}

std::string strip_credentials(std::string_view url) {
  std::size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  std::size_t host_start = scheme + 3;
  std::size_t host_end = url.find('/', host_start);
  std::size_t at = url.rfind('@', host_end == std::string_view::npos ? url.npos : host_end);
  if (at == std::string_view::npos || at < host_start) return std::string(url);
  return cat(url.substr(0, host_start), url.substr(at + 1));
}

}  // namespace imgbuild::context
