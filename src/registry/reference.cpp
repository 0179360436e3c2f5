// SPDX-License-Identifier: Apache-2.0
#include "imgbuild/registry/reference.hpp"

#include "imgbuild/util/error.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::registry {
namespace {

constexpr std::string_view docker_hub_domain = "docker.io";
constexpr std::size_t max_name_length = 255;
constexpr std::size_t max_tag_length = 128;

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

[[noreturn]] void reject(std::string_view text, std::string_view reason) {
  fail("invalid image reference ", quote(text), ": ", reason);
}

// domain-component: [a-zA-Z0-9] or [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9].
bool valid_domain_component(std::string_view component) {
  if (component.empty() || !is_alnum(component.front()) || !is_alnum(component.back())) return false;
  for (char c : component)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

void check_domain(std::string_view text, std::string_view domain) {
  std::string_view host = domain;
  auto colon = domain.find(':');
  if (colon != std::string_view::npos) {
    host = domain.substr(0, colon);
    std::string_view port = domain.substr(colon + 1);
    if (port.empty() || port.size() > 5)
      reject(text, cat("invalid port in registry ", quote(domain)));
    for (char c : port)
      if (!is_digit(c)) reject(text, cat("invalid port in registry ", quote(domain)));
  }
  for (const auto& component : split(host, '.'))
    if (!valid_domain_component(component))
      reject(text, cat("invalid registry host ", quote(domain)));
}

// path-component: [a-z0-9]+ joined by the separators ".", "_", "__" or any
// number of "-".
void check_path_component(std::string_view text, std::string_view component) {
  if (component.empty()) reject(text, "empty path component");
  for (char c : component)
    if (c >= 'A' && c <= 'Z') reject(text, "repository name must be lower-case");
  if (!is_lower_alnum(component.front()) || !is_lower_alnum(component.back()))
    reject(text, cat("path component ", quote(component), " must start and end with a letter or digit"));

  std::size_t i = 0;
  while (i < component.size()) {
    if (is_lower_alnum(component[i])) {
      ++i;
      continue;
    }
    std::size_t start = i;
    while (i < component.size() && !is_lower_alnum(component[i])) ++i;
    std::string_view separator = component.substr(start, i - start);
    bool dashes = separator.find_first_not_of('-') == std::string_view::npos;
    if (separator != "." && separator != "_" && separator != "__" && !dashes)
      reject(text, cat("invalid separator ", quote(separator), " in path component ", quote(component)));
  }
}

void check_tag(std::string_view text, std::string_view tag) {
  bool valid = !tag.empty() && tag.size() <= max_tag_length && (is_alnum(tag[0]) || tag[0] == '_');
  for (char c : tag)
    if (!is_alnum(c) && c != '_' && c != '.' && c != '-') valid = false;
  if (!valid)
    reject(text, cat("invalid tag ", quote(tag),
                     ": use up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'"));
}

// Splits "name[:tag]" where the tag colon comes after the last '/', so a
// registry port ("host:5000/name") is not taken for a tag.
std::pair<std::string_view, std::string_view> split_tag(std::string_view name) {
  auto slash = name.rfind('/');
  auto colon = name.rfind(':');
  if (colon == std::string_view::npos || (slash != std::string_view::npos && colon < slash)) return {name, {}};
  return {name.substr(0, colon), name.substr(colon + 1)};
}

std::pair<std::string, std::string> split_domain(std::string_view name) {
  auto slash = name.find('/');
  if (slash == std::string_view::npos) return {std::string(docker_hub_domain), std::string(name)};
  std::string_view first = name.substr(0, slash);
  bool is_domain = first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
                   first == "localhost";
  if (!is_domain) return {std::string(docker_hub_domain), std::string(name)};
  return {std::string(first), std::string(name.substr(slash + 1))};
}

}  // namespace

Reference Reference::parse(std::string_view text) {
  if (text.empty()) fail("invalid image reference '': the reference is empty");
  Reference reference;

  std::string_view name = text;
  auto at = text.find('@');
  if (at != std::string_view::npos) {
    name = text.substr(0, at);
    std::string_view digest = text.substr(at + 1);
    if (!Digest::valid(digest))
      reject(text, cat("invalid digest ", quote(digest), ": expected 'sha256:' followed by 64 lower-case hex digits"));
    reference.digest = Digest::parse(digest);
  }

  auto [repository, tag] = split_tag(name);
  if (!tag.empty() || name.ends_with(':')) {
    check_tag(text, tag);
    reference.tag = std::string(tag);
  }
  if (repository.empty()) reject(text, "the repository name is missing");

  auto [domain, path] = split_domain(repository);
  check_domain(text, domain);
  for (const auto& component : split(path, '/')) check_path_component(text, component);
  if (domain == "index.docker.io") domain = docker_hub_domain;
  if (domain == docker_hub_domain && path.find('/') == std::string::npos) path = "library/" + path;
  if (domain.size() + 1 + path.size() > max_name_length)
    reject(text, "the repository name is longer than 255 characters");

  reference.domain = std::move(domain);
  reference.path = std::move(path);
  if (reference.tag.empty() && !reference.digest) reference.tag = "latest";
  return reference;
}

std::string Reference::str() const {
  std::string text = repository();
  if (!tag.empty()) text += ":" + tag;
  if (digest) text += "@" + digest->str();
  return text;
}

std::string Reference::repository() const { return domain + "/" + path; }

std::string Reference::registry_host() const {
  return domain == docker_hub_domain ? std::string("registry-1.docker.io") : domain;
}

std::string Reference::manifest_reference() const { return digest ? digest->str() : tag; }

Reference Reference::with_digest(const Digest& pinned) const {
  Reference copy = *this;
  copy.digest = pinned;
  return copy;
}

}  // namespace imgbuild::registry
