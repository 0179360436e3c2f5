// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/context/copy_plan.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <exception>
#include <map>
#include <mutex>
#include <numeric>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "imgbuild/context/build_context.hpp"
#include "imgbuild/context/ignore.hpp"
#include "imgbuild/context/secrets_guard.hpp"
#include "imgbuild/layer/order.hpp"
#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::context {
namespace {

std::string join_path(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string path;
  path.reserve(parent.size() + 1 + name.size());
  return path.append(parent).append(1, '/').append(name);
}

// Returns the path without its last component, "" for a top-level name.
std::string_view parent_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view basename_of(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool has_glob(std::string_view text) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') ++i;
    else if (text[i] == '*' || text[i] == '?' || text[i] == '[') return true;
  }
  return false;
}

struct Destination {
  std::string path;           // clean, relative to the image root
  bool explicit_directory;    // written with a trailing '/' (or is the root)
};

Destination resolve_destination(const CopyRequest& request) {
  std::string_view written = request.destination;
  if (written.empty())
    fail_with(ExitCode::usage, "copy destination is empty; give an image path such as '/app/'");
  bool trailing = written.ends_with('/') || written == "." || written.ends_with("/.");
  std::string full = written.starts_with('/') ? std::string(written)
                                              : cat(request.workdir.empty() ? "/" : request.workdir, "/", written);
  std::string path = clean_path(full);
  return {path, trailing || path.empty()};
}

// Expanded sources of one step.
struct Expansion {
  std::vector<std::string> matches;          // physical paths, last component not followed
  std::vector<std::string> unmatched_globs;  // globs that matched nothing in a non-empty directory
};

// Expands one glob component by component. `listed_entries` turns true when
// a directory at the last level held anything the glob could have matched,
// and `reached_last` when a directory at the last level exists at all.
std::vector<std::string> expand_glob(const SourceTree& tree, std::string_view pattern, bool& listed_entries,
                                     bool& reached_last) {
  std::vector<std::string> current = {""};
  std::vector<std::string> parts = split(clean_path(pattern), '/');
  for (std::size_t i = 0; i < parts.size(); ++i) {
    bool last = i + 1 == parts.size();
    std::vector<std::string> next;
    for (const std::string& directory : current) {
      if (!has_glob(parts[i])) {
        if (auto found = tree.resolve(join_path(directory, parts[i]), false)) next.push_back(*found);
        continue;
      }
      std::optional<std::string> resolved = tree.resolve(directory);
      std::optional<FileInfo> info = resolved ? tree.entry(*resolved) : std::nullopt;
      if (!info || info->type != layer::EntryType::directory) continue;
      if (last) reached_last = true;
      for (const std::string& name : tree.list(*resolved)) {
        std::string child = join_path(*resolved, name);
        if (tree.excluded(child) && (last || !tree.walk_below(child))) continue;
        if (last) listed_entries = true;
        if (glob_match(parts[i], name)) next.push_back(std::move(child));
      }
    }
    current = std::move(next);
  }
  return current;
}

std::string literal_source(const SourceTree& tree, std::string_view source) {
  std::string path = clean_path(source);
  std::optional<std::string> found = tree.resolve(path, false);
  if (!found || !tree.entry(*found))
    fail("copy source ", quote(source), " not found in ", tree.describe(),
         "; check the path, which is relative to the ", tree.kind() == SourceKind::context ? "context" : "stage",
         " root");
  std::optional<FileInfo> info = tree.entry(*found);
  bool walked_directory = info->type == layer::EntryType::directory && tree.walk_below(*found);
  if (tree.excluded(*found) && !walked_directory)
    fail("copy source ", quote(source), " is excluded by the ignore file of ", tree.describe(),
         "; remove the matching line or add a '!' line for it");
  return *found;
}

Expansion expand_sources(const SourceTree& tree, const std::vector<std::string>& sources) {
  if (sources.empty()) fail_with(ExitCode::usage, "copy step has no sources");
  Expansion expansion;
  for (const std::string& source : sources) {
    if (!has_glob(source)) {
      expansion.matches.push_back(literal_source(tree, source));
      continue;
    }
    bool listed_entries = false, reached_last = false;
    std::vector<std::string> found = expand_glob(tree, source, listed_entries, reached_last);
    // A glob in an empty directory copies nothing, as Docker's does; one
    // whose directory is missing is a mistake.
    if (found.empty() && (listed_entries || !reached_last)) expansion.unmatched_globs.push_back(source);
    expansion.matches.insert(expansion.matches.end(), found.begin(), found.end());
  }
  if (expansion.matches.empty() && !expansion.unmatched_globs.empty())
    fail("no file in ", tree.describe(), " matches ", quote(expansion.unmatched_globs.front()),
         "; check the pattern and the ignore file");
  return expansion;
}

// Children of each directory that a copy walks, keyed by tree path.
using Listings = std::unordered_map<std::string, std::vector<DirectoryEntry>>;

// Scans `root` and every directory below it that a copy walks, one level at
// a time on the hashing threads, because with a warm stat cache one stat per
// file costs more than the rest of the plan.
Listings scan_tree(const SourceTree& tree, const std::string& root) {
  Listings listings;
  std::vector<std::string> level = {root};
  while (!level.empty()) {
    std::vector<std::vector<DirectoryEntry>> scanned(level.size());
    parallel_for(level.size(), [&](std::size_t i) { scanned[i] = tree.scan(level[i]); });

    std::vector<std::string> next;
    for (std::size_t i = 0; i < level.size(); ++i) {
      for (const DirectoryEntry& child : scanned[i]) {
        if (!child.info || child.info->type != layer::EntryType::directory) continue;
        std::string path = join_path(level[i], child.name);
        if (tree.excluded(path) && !tree.walk_below(path)) continue;
        next.push_back(std::move(path));
      }
      listings.emplace(std::move(level[i]), std::move(scanned[i]));
    }
    level = std::move(next);
  }
  return listings;
}

// Collects the entries of one copy step, keyed by layer path so a later
// source replaces an earlier one at the same path.
class Planner {
 public:
  Planner(const CopyRequest& request, const SourceTree& tree, const ImageQuery& image)
      : request_(request), tree_(tree), image_(image) {}
  // The index refers to `entries_` of this object.
  Planner(const Planner&) = delete;
  Planner& operator=(const Planner&) = delete;

  void copy_source(const std::string& match, const Destination& destination, bool into_directory);
  void add_parents();
  CopyPlan finish();

 private:
  // Hash and equality for a set of indices into `entries_` that is searched
  // by layer path, so the index stores no second copy of each path.
  struct IndexHash {
    using is_transparent = void;
    const std::vector<layer::Entry>* entries;
    std::size_t operator()(std::string_view path) const { return std::hash<std::string_view>{}(path); }
    std::size_t operator()(std::size_t i) const { return (*this)((*entries)[i].path); }
  };
  struct IndexEqual {
    using is_transparent = void;
    const std::vector<layer::Entry>* entries;
    std::string_view path(std::size_t i) const { return (*entries)[i].path; }
    bool operator()(std::size_t a, std::size_t b) const { return path(a) == path(b); }
    bool operator()(std::string_view a, std::size_t b) const { return a == path(b); }
    bool operator()(std::size_t a, std::string_view b) const { return path(a) == b; }
  };

  bool image_has_directory(std::string_view path) const {
    if (!image_) return false;
    std::string image_path = "/";
    image_path.append(path);
    return image_(image_path);
  }
  void emit(std::string origin, const FileInfo& info, std::string target);
  void add_entry(layer::Entry entry, std::string origin, const FileInfo& info);
  bool planned(std::string_view path) const;
  void copy_directory_contents(const Listings& listings, const std::string& source, const std::string& target);
  void sort_entries();
  void link_hardlinks(CopyPlan& plan) const;
  void hash_contents(CopyPlan& plan);
  void guard_secrets(CopyPlan& plan) const;

  const CopyRequest& request_;
  const SourceTree& tree_;
  const ImageQuery& image_;
  // Planned entries with, at the same index, the tree path each was made
  // from ("" for a created parent) and that path's metadata (default for a
  // created parent). Three vectors, so `finish` can hand the first two to
  // the plan without moving each element.
  std::vector<layer::Entry> entries_;
  std::vector<std::string> origins_;
  std::vector<FileInfo> infos_;
  // Indices into `entries_`, one per layer path, so a later source replaces
  // an entry in place. Built when a second source is copied, because the
  // entries of one source never share a path.
  std::unordered_set<std::size_t, IndexHash, IndexEqual> index_{0, IndexHash{&entries_}, IndexEqual{&entries_}};
  bool indexed_ = false;
  // Directories that must exist with all their ancestors: the destination of
  // each directory source and the parent of each file target.
  std::vector<std::string> anchors_;
  std::set<std::string> key_headers_;  // origins whose content starts like a PEM private key
};

void Planner::emit(std::string origin, const FileInfo& info, std::string target) {
  layer::Entry entry;
  entry.type = info.type;
  entry.mode = info.type == layer::EntryType::symlink ? 0777 : request_.mode.value_or(info.mode) & 07777;
  if (request_.owner) {
    entry.uid = request_.owner->uid;
    entry.gid = request_.owner->gid;
  } else if (tree_.kind() == SourceKind::stage) {
    entry.uid = info.uid;
    entry.gid = info.gid;
  }
  entry.size = info.type == layer::EntryType::regular ? info.size : 0;
  entry.link_target = info.link_target;
  entry.dev_major = info.dev_major;
  entry.dev_minor = info.dev_minor;
  entry.mtime = info.mtime;
  // Regular files get their content source and xattrs with their content
  // hash, on the hashing threads (see hash_contents).
  if (info.type != layer::EntryType::regular) entry.xattrs = tree_.xattrs(origin);

  entry.path = std::move(target);
  add_entry(std::move(entry), std::move(origin), info);
}

void Planner::add_entry(layer::Entry entry, std::string origin, const FileInfo& info) {
  if (!indexed_) {
    entries_.push_back(std::move(entry));
    origins_.push_back(std::move(origin));
    infos_.push_back(info);
    return;
  }
  if (auto found = index_.find(std::string_view(entry.path)); found != index_.end()) {
    entries_[*found] = std::move(entry);
    origins_[*found] = std::move(origin);
    infos_[*found] = info;
    return;
  }
  entries_.push_back(std::move(entry));
  origins_.push_back(std::move(origin));
  infos_.push_back(info);
  index_.insert(entries_.size() - 1);
}

bool Planner::planned(std::string_view path) const {
  if (indexed_) return index_.find(path) != index_.end();
  return std::any_of(entries_.begin(), entries_.end(),
                     [path](const layer::Entry& entry) { return entry.path == path; });
}

// Walks the directories `scan_tree` listed, in the same order and with the
// same exclusions.
void Planner::copy_directory_contents(const Listings& listings, const std::string& source,
                                      const std::string& target) {
  for (const DirectoryEntry& child : listings.at(source)) {
    if (!child.info) continue;  // a socket: layers cannot hold one
    const FileInfo& info = *child.info;
    std::string child_source = join_path(source, child.name);
    bool excluded = tree_.excluded(child_source);

    if (info.type != layer::EntryType::directory) {
      if (!excluded) emit(std::move(child_source), info, join_path(target, child.name));
      continue;
    }
    if (excluded && !tree_.walk_below(child_source)) continue;
    std::string child_target = join_path(target, child.name);
    std::size_t before = entries_.size();
    if (!excluded) emit(child_source, info, child_target);
    copy_directory_contents(listings, child_source, child_target);
    // An excluded directory appears only as the parent of re-included files.
    if (excluded && entries_.size() > before) emit(child_source, info, child_target);
  }
}

void Planner::copy_source(const std::string& match, const Destination& destination, bool into_directory) {
  std::string physical = match;
  std::optional<FileInfo> info = tree_.entry(match);
  if (info && info->type == layer::EntryType::symlink) {
    std::optional<std::string> resolved = tree_.resolve(match);
    info = resolved ? tree_.entry(*resolved) : std::nullopt;
    if (!info)
      fail("copy source ", quote(match), " is a symlink to ", quote(tree_.entry(match)->link_target),
           ", which does not exist in ", tree_.describe());
    physical = *resolved;
  }
  if (!info) fail("copy source ", quote(match), " cannot be copied: sockets cannot go into a layer");

  // Only a second source can plan a path twice.
  if (!indexed_ && !entries_.empty()) {
    index_.reserve(entries_.size());
    for (std::size_t i = 0; i < entries_.size(); ++i) index_.insert(i);
    indexed_ = true;
  }

  if (info->type == layer::EntryType::directory) {
    if (!destination.path.empty() && !image_has_directory(destination.path))
      emit(physical, *info, destination.path);
    Listings listings = scan_tree(tree_, physical);
    std::size_t children = 0;
    for (const auto& [directory, listing] : listings) children += listing.size();
    // Reserving once saves moving every entry about twice as the vectors grow.
    std::size_t needed = entries_.size() + children;
    if (needed > entries_.capacity()) {
      std::size_t capacity = std::max(needed, 2 * entries_.capacity());
      entries_.reserve(capacity);
      origins_.reserve(capacity);
      infos_.reserve(capacity);
    }
    if (indexed_) index_.reserve(needed);
    copy_directory_contents(listings, physical, destination.path);
    anchors_.push_back(destination.path);
    return;
  }
  std::string target = into_directory ? join_path(destination.path, basename_of(match)) : destination.path;
  anchors_.emplace_back(parent_of(target));
  emit(physical, *info, std::move(target));
}

void Planner::add_parents() {
  // Makes sure each anchor and its ancestors are planned, in the image or
  // created here. A walk plans the parent of everything it emits below its
  // destination, so the anchors cover every entry.
  std::set<std::string, std::less<>> checked;
  std::vector<layer::Entry> created;
  for (const std::string& anchor : anchors_) {
    for (std::string_view directory = anchor; !directory.empty(); directory = parent_of(directory)) {
      if (!checked.emplace(directory).second) break;
      if (planned(directory) || image_has_directory(directory)) continue;
      layer::Entry entry;
      entry.path = std::string(directory);
      entry.type = layer::EntryType::directory;
      entry.mode = 0755;
      entry.mtime = request_.epoch;
      if (request_.owner) {
        entry.uid = request_.owner->uid;
        entry.gid = request_.owner->gid;
      }
      created.push_back(std::move(entry));
    }
  }
  for (layer::Entry& directory : created) add_entry(std::move(directory), "", FileInfo{});
}

void Planner::link_hardlinks(CopyPlan& plan) const {
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::string> first_name;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    layer::Entry& entry = plan.entries[i];
    const FileInfo& info = infos_[i];
    if (entry.type != layer::EntryType::regular || plan.origins[i].empty()) continue;
    if (info.nlink < 2 || info.inode == 0) continue;
    auto [it, inserted] = first_name.emplace(std::pair(info.device, info.inode), entry.path);
    if (inserted) continue;
    entry.type = layer::EntryType::hardlink;
    entry.link_target = it->second;
    entry.size = 0;
    entry.source.clear();
    entry.content.reset();
  }
}

void Planner::hash_contents(CopyPlan& plan) {
  std::vector<std::size_t> regular;
  for (std::size_t i = 0; i < plan.entries.size(); ++i)
    if (plan.entries[i].type == layer::EntryType::regular) regular.push_back(i);

  // Each thread writes only the slots of its own entries. The flags are
  // `char`, not `bool`, so that neighbouring flags are separate bytes.
  plan.content_digests.assign(plan.entries.size(), "");
  std::vector<char> key_header(regular.size(), 0);
  parallel_for(regular.size(), [&](std::size_t k) {
    std::size_t i = regular[k];
    tree_.attach_content(plan.origins[i], plan.entries[i]);
    ContentInfo content = tree_.content_info(plan.origins[i], infos_[i]);
    plan.content_digests[i] = content.digest.str();
    plan.entries[i].xattrs = std::move(content.xattrs);
    key_header[k] = content.private_key_header;
  });

  for (std::size_t k = 0; k < regular.size(); ++k)
    if (key_header[k]) key_headers_.insert(plan.origins[regular[k]]);
}

void Planner::guard_secrets(CopyPlan& plan) const {
  if (tree_.kind() != SourceKind::context) return;
  std::map<std::string, SecretFinding> findings;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    const std::string& origin = plan.origins[i];
    if (origin.empty()) continue;
    if (auto finding = check_secret_name(origin, tree_)) findings.emplace(finding->path, *finding);
    else if (key_headers_.count(origin)) findings.emplace(origin, SecretFinding{origin, "PEM private key"});
  }

  IgnoreRules allow = IgnoreRules::parse(join(request_.allow, "\n"), "[context] allow");
  std::vector<SecretFinding> rejected;
  for (const auto& [path, finding] : findings) {
    if (allow.excluded(path)) plan.allowed_secrets.push_back(path);
    else rejected.push_back(finding);
  }
  if (rejected.empty()) return;

  std::string ignore_file = ".dockerignore";
  if (const auto* context = dynamic_cast<const BuildContext*>(&tree_); context && !context->ignore_rules().file_name().empty())
    ignore_file = context->ignore_rules().file_name();
  reject_secrets(rejected, tree_.describe(), ignore_file);
}

// Puts the entries in the layer writer's order: parents first, then byte
// order within a directory, so "first name" of a hardlink agrees with the
// tar. A walk of one directory source already emits that order, so then
// nothing moves.
void Planner::sort_entries() {
  std::vector<std::size_t> order(entries_.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  auto before = [this](std::size_t a, std::size_t b) {
    return layer::path_before(entries_[a].path, entries_[b].path);
  };
  if (std::is_sorted(order.begin(), order.end(), before)) return;
  std::sort(order.begin(), order.end(), before);

  auto permute = [&order](auto& items) {
    std::remove_reference_t<decltype(items)> sorted;
    sorted.reserve(items.size());
    for (std::size_t i : order) sorted.push_back(std::move(items[i]));
    items = std::move(sorted);
  };
  permute(entries_);
  permute(origins_);
  permute(infos_);
}

CopyPlan Planner::finish() {
  sort_entries();
  CopyPlan plan;
  plan.entries = std::move(entries_);
  plan.origins = std::move(origins_);
  index_.clear();  // it hashes entries_, which are gone, and nothing adds entries now
  link_hardlinks(plan);
  hash_contents(plan);
  guard_secrets(plan);
  plan.input_hash = hash_copy_inputs(plan);
  return plan;
}

}  // namespace

void parallel_for(std::size_t count, const std::function<void(std::size_t)>& work) {
  std::size_t threads = std::max<std::size_t>(2, std::thread::hardware_concurrency());
  threads = std::min(threads, count);
  if (threads <= 1) {
    for (std::size_t i = 0; i < count; ++i) work(i);
    return;
  }

  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto run = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        work(i);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
        next = count;  // stop handing out work
      }
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(run);
  for (std::thread& thread : pool) thread.join();
  if (failure) std::rethrow_exception(failure);
}

Digest hash_copy_inputs(const CopyPlan& plan) {
  // Plain appends into one buffer, hashed in batches, because this runs once
  // per file on every build and a stream per field, or a hash update per
  // entry, cost more than the rest of a warm plan.
  std::string record;
  record.reserve(1 << 16);
  auto number = [&record](std::uint64_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    record.append(digits, end);
    record.push_back(' ');
  };
  auto field = [&](std::string_view value) {
    number(value.size());
    record.append(value);
  };

  Sha256 hash;
  hash.update("imgbuild copy inputs 1\n");
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    const layer::Entry& entry = plan.entries[i];
    field(entry.path);
    field(i < plan.origins.size() ? plan.origins[i] : "");
    for (std::uint64_t value : {std::uint64_t(entry.type), std::uint64_t(entry.mode), std::uint64_t(entry.uid),
                                std::uint64_t(entry.gid), entry.size, std::uint64_t(entry.dev_major),
                                std::uint64_t(entry.dev_minor), std::uint64_t(entry.xattrs.size())})
      number(value);
    field(entry.link_target);
    for (const auto& [name, value] : entry.xattrs) {
      field(name);
      field(value);
    }
    field(i < plan.content_digests.size() ? plan.content_digests[i] : "");
    record.push_back('\n');
    if (record.size() >= (1 << 16) - 4096) {
      hash.update(record);
      record.clear();
    }
  }
  hash.update(record);
  return hash.finish();
}

CopyPlan plan_copy(const CopyRequest& request, const SourceTree& tree, const ImageQuery& image) {
  Destination destination = resolve_destination(request);
  Expansion expansion = expand_sources(tree, request.sources);

  if (expansion.matches.size() > 1 && !destination.explicit_directory)
    fail_with(ExitCode::usage, "copying ", expansion.matches.size(), " sources to ", quote(request.destination),
              " needs a directory destination ending in '/'; write ", quote(request.destination + "/"));
  bool into_directory = destination.explicit_directory || expansion.matches.size() > 1 ||
                        (image && image("/" + destination.path));

  Planner planner(request, tree, image);
  for (const std::string& match : expansion.matches) planner.copy_source(match, destination, into_directory);
  planner.add_parents();
  return planner.finish();
}

}  // namespace imgbuild::context
