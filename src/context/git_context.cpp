// SPDX-License-Identifier: Apache-2.0
#include <git2.h>

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <system_error>

#include "imgbuild/context/build_context.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/log.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

// RAII owners for the libgit2 objects we hold.
struct RepositoryFree {
  void operator()(git_repository* repository) const { git_repository_free(repository); }
};
struct ObjectFree {
  void operator()(git_object* object) const { git_object_free(object); }
};
struct TreeFree {
  void operator()(git_tree* tree) const { git_tree_free(tree); }
};
struct BlobFree {
  void operator()(git_blob* blob) const { git_blob_free(blob); }
};
using Repository = std::unique_ptr<git_repository, RepositoryFree>;
using Object = std::unique_ptr<git_object, ObjectFree>;
using Tree = std::unique_ptr<git_tree, TreeFree>;
using Blob = std::unique_ptr<git_blob, BlobFree>;

// Initialises libgit2 once per process; it stays up until exit.
void init_libgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });
}

[[noreturn]] void fail_git(std::string_view what) {
  const git_error* error = git_error_last();
  fail(what, ": ", error && error->message ? error->message : "unknown libgit2 error");
}

std::string oid_hex(const git_oid* oid) {
  char hex[GIT_OID_HEXSZ + 1] = {};
  git_oid_tostr(hex, sizeof hex, oid);
  return hex;
}

std::string local_path(std::string_view repository) {
  if (repository.starts_with("file://")) return std::string(repository.substr(7));
  if (repository.find("://") != std::string_view::npos || repository.starts_with("git@"))
    fail_with(ExitCode::usage, "git context ", quote(strip_credentials(repository)),
              " is not local; only a repository path or a file:// URL is supported, so clone it first");
  return std::string(repository);
}

struct Node {
  FileInfo info;
  git_oid oid{};                    // blobs only
  std::vector<std::string> children;  // directories only, sorted
  bool loaded = false;              // size and link target read from the blob
};

// The committed tree of one commit, read into memory at open. Blob contents
// are read on demand under a lock, because one git_repository must not be
// used from several threads at once.
class GitContext final : public BuildContext {
 public:
  // `subdirectory` ("" for the whole tree) becomes the context root.
  GitContext(std::string location, Repository repository, Object commit, std::string subdirectory)
      : location_(std::move(location)), repository_(std::move(repository)), subdirectory_(std::move(subdirectory)) {
    auto* raw_commit = reinterpret_cast<git_commit*>(commit.get());
    revision_ = oid_hex(git_commit_id(raw_commit));
    commit_time_ = git_commit_time(raw_commit);
    git_tree* raw_tree = nullptr;
    if (git_commit_tree(&raw_tree, raw_commit) != 0) fail_git(cat("cannot read the tree of ", revision_));
    Tree tree(raw_tree);
    if (!subdirectory_.empty()) tree = subtree(tree.get());
    load_tree(tree.get());
  }

  void load_ignore(const std::optional<std::filesystem::path>& ignore_file) {
    std::vector<std::string> names;
    if (ignore_file) names.push_back(clean_path(ignore_file->string()));
    else names = {".imgbuildignore", ".dockerignore"};
    for (const std::string& name : names) {
      std::optional<FileInfo> info = entry(name);
      if (info && info->type == layer::EntryType::regular) {
        rules_ = IgnoreRules::parse(read(name, static_cast<std::size_t>(-1)), name);
        return;
      }
    }
    if (ignore_file)
      fail_with(ExitCode::usage, "ignore file ", quote(ignore_file->string()), " not found in ", describe());
  }

  std::string describe() const override {
    std::string text = cat("git context ", quote(strip_credentials(location_)), " at ", revision_.substr(0, 12));
    if (!subdirectory_.empty()) text += cat(" in directory ", quote(subdirectory_));
    return text;
  }

  std::optional<FileInfo> entry(std::string_view path) const override {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(path);
    if (it == nodes_.end()) return std::nullopt;
    Node& node = const_cast<Node&>(it->second);
    if (!node.loaded) load_blob_info(node);
    return node.info;
  }

  std::vector<std::string> list(std::string_view path) const override {
    auto it = nodes_.find(path);
    if (it == nodes_.end() || it->second.info.type != layer::EntryType::directory)
      fail(quote(path.empty() ? "/" : path), " is not a directory in ", describe());
    return it->second.children;
  }

  void attach_content(std::string_view path, layer::Entry& entry) const override {
    // NOTE: git blobs are held in memory until the layer is written.
    entry.content = read(path, static_cast<std::size_t>(-1));
  }

  std::string read(std::string_view path, std::size_t limit) const override {
    std::lock_guard lock(mutex_);
    auto it = nodes_.find(path);
    if (it == nodes_.end() || it->second.info.type == layer::EntryType::directory)
      fail(quote(path), " is not a file in ", describe());
    Blob blob = lookup_blob(it->second.oid);
    auto size = static_cast<std::size_t>(git_blob_rawsize(blob.get()));
    return std::string(static_cast<const char*>(git_blob_rawcontent(blob.get())), std::min(size, limit));
  }

  const IgnoreRules& ignore_rules() const override { return rules_; }
  std::optional<std::int64_t> commit_time() const override { return commit_time_; }

  std::map<std::string, std::string> annotations() const override {
    return {{"org.opencontainers.image.source", strip_credentials(location_)},
            {"org.opencontainers.image.revision", revision_}};
  }

 private:
  static int visit(const char* root, const git_tree_entry* item, void* payload) {
    auto* self = static_cast<GitContext*>(payload);
    std::string parent(root);
    if (!parent.empty()) parent.pop_back();  // libgit2 passes "dir/"
    std::string path = parent.empty() ? git_tree_entry_name(item) : cat(parent, "/", git_tree_entry_name(item));

    Node node;
    node.info.mtime = self->commit_time_;
    switch (git_tree_entry_filemode(item)) {
      case GIT_FILEMODE_TREE: node.info.type = layer::EntryType::directory; node.info.mode = 0755; break;
      case GIT_FILEMODE_BLOB: node.info.mode = 0644; break;
      case GIT_FILEMODE_BLOB_EXECUTABLE: node.info.mode = 0755; break;
      case GIT_FILEMODE_LINK: node.info.type = layer::EntryType::symlink; node.info.mode = 0777; break;
      default:
        // TODO: submodules (gitlink entries) are left out of git contexts.
        log::warn(cat("git context: skipping submodule ", quote(path)));
        return 1;  // skip, and do not descend
    }
    if (node.info.type != layer::EntryType::directory) node.oid = *git_tree_entry_id(item);
    else node.loaded = true;

    self->nodes_[parent].children.push_back(git_tree_entry_name(item));
    self->nodes_.emplace(std::move(path), std::move(node));
    return 0;
  }

  void load_tree(git_tree* tree) {
    Node root;
    root.info.type = layer::EntryType::directory;
    root.info.mode = 0755;
    root.info.mtime = commit_time_;
    root.loaded = true;
    nodes_.emplace("", std::move(root));
    if (git_tree_walk(tree, GIT_TREEWALK_PRE, &GitContext::visit, this) != 0)
      fail_git(cat("cannot walk the tree of ", revision_));
    for (auto& [path, node] : nodes_) std::sort(node.children.begin(), node.children.end());
  }

  // Returns the tree of `subdirectory_` inside `root`.
  Tree subtree(git_tree* root) const {
    std::string where = cat(" in commit ", revision_, " of ", quote(strip_credentials(location_)));
    git_tree_entry* raw_entry = nullptr;
    if (git_tree_entry_bypath(&raw_entry, root, subdirectory_.c_str()) != 0)
      fail_with(ExitCode::usage, "context directory ", quote(subdirectory_), " not found", where,
                "; set [context] dir to a directory of the repository at that commit");
    std::unique_ptr<git_tree_entry, decltype(&git_tree_entry_free)> entry(raw_entry, &git_tree_entry_free);
    if (git_tree_entry_type(entry.get()) != GIT_OBJECT_TREE)
      fail_with(ExitCode::usage, "context directory ", quote(subdirectory_), where,
                " is not a directory; set [context] dir to a directory of the repository at that commit");
    git_tree* raw_tree = nullptr;
    if (git_tree_lookup(&raw_tree, repository_.get(), git_tree_entry_id(entry.get())) != 0)
      fail_git(cat("cannot read the tree of ", quote(subdirectory_), where));
    return Tree(raw_tree);
  }

  Blob lookup_blob(const git_oid& oid) const {
    git_blob* blob = nullptr;
    if (git_blob_lookup(&blob, repository_.get(), &oid) != 0)
      fail_git(cat("cannot read blob ", oid_hex(&oid), " of ", describe()));
    return Blob(blob);
  }

  // Fills size and link target; called with `mutex_` held.
  void load_blob_info(Node& node) const {
    Blob blob = lookup_blob(node.oid);
    auto size = static_cast<std::size_t>(git_blob_rawsize(blob.get()));
    if (node.info.type == layer::EntryType::symlink)
      node.info.link_target.assign(static_cast<const char*>(git_blob_rawcontent(blob.get())), size);
    else
      node.info.size = size;
    node.loaded = true;
  }

  std::string location_;
  Repository repository_;
  std::string subdirectory_;
  std::string revision_;
  std::int64_t commit_time_ = 0;
  std::map<std::string, Node, std::less<>> nodes_;
  IgnoreRules rules_;
  mutable std::mutex mutex_;
};

}  // namespace

std::unique_ptr<BuildContext> open_git_context(std::string_view repository, std::string_view ref,
                                               std::string_view subdirectory,
                                               const std::optional<std::filesystem::path>& ignore_file) {
  init_libgit2();
  std::string path = local_path(repository);
  for (const std::string& part : split(subdirectory, '/'))
    if (part == "..")
      fail_with(ExitCode::usage, "context directory ", quote(subdirectory),
                " leaves the git repository; name a subdirectory inside it");

  git_repository* raw_repository = nullptr;
  if (git_repository_open_ext(&raw_repository, path.c_str(), GIT_REPOSITORY_OPEN_NO_SEARCH, nullptr) != 0)
    fail_git(cat("cannot open git repository ", quote(path)));
  Repository repo(raw_repository);

  std::string ref_text(ref);
  git_object* raw_object = nullptr;
  if (git_revparse_single(&raw_object, repo.get(), ref_text.c_str()) != 0)
    fail_git(cat("git ref ", quote(ref), " not found in ", quote(path)));
  Object object(raw_object);
  git_object* raw_commit = nullptr;
  if (git_object_peel(&raw_commit, object.get(), GIT_OBJECT_COMMIT) != 0)
    fail_git(cat("git ref ", quote(ref), " in ", quote(path), " does not name a commit"));
  Object commit(raw_commit);

  auto context = std::make_unique<GitContext>(std::string(repository), std::move(repo), std::move(commit),
                                              clean_path(subdirectory));
  context->load_ignore(ignore_file);
  return context;
}

}  // namespace imgbuild::context
