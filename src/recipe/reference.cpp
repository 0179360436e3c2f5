// SPDX-License-Identifier: Apache-2.0
// Image references, following the grammar of the distribution project's
// reference package (name components, domain, tag, digest).
#include <regex>

#include "imgbuild/recipe/values.hpp"
#include "imgbuild/util/strings.hpp"

namespace imgbuild::recipe {
namespace {

[[noreturn]] void invalid(std::string_view text, std::string_view reason) {
  fail_with(ExitCode::usage, "invalid image reference ", quote(text), ": ", reason);
}

const std::regex& path_component() {
  static const std::regex pattern("[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*");
  return pattern;
}

const std::regex& domain_pattern() {
  static const std::regex pattern(
      "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
      "(?:\\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?");
  return pattern;
}

// A first component is a domain when it has a '.' or a ':' port, is
// "localhost", or has upper-case letters (which a path may not).
bool looks_like_domain(std::string_view component) {
  if (component == "localhost") return true;
  if (component.find_first_of(".:") != std::string_view::npos) return true;
  for (char c : component)
    if (c >= 'A' && c <= 'Z') return true;
  return false;
}

void check_digest(std::string_view text, std::string_view digest) {
  static const std::regex pattern("[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}");
  if (!std::regex_match(digest.begin(), digest.end(), pattern))
    invalid(text, cat("the digest ", quote(digest), " is not ALGORITHM:HEX, such as sha256:<64 hex digits>"));
  if (digest.starts_with("sha256:") && digest.size() != 7 + 64)
    invalid(text, "a sha256 digest has 64 hex digits");
}

}  // namespace

void check_tag(std::string_view tag) {
  static const std::regex pattern("[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}");
  if (!std::regex_match(tag.begin(), tag.end(), pattern))
    fail_with(ExitCode::usage, "invalid tag ", quote(tag),
              ": a tag is up to 128 letters, digits, '_', '.' and '-', and does not start with '.' or '-'");
}

void check_tag_or_reference(std::string_view text) {
  if (text.find_first_of("/:@") == std::string_view::npos) {
    check_tag(text);
    return;
  }
  ImageReference reference;
  try {
    reference = parse_image_reference(text);
  } catch (const Error& error) {
    fail_with(ExitCode::usage, error.what(), "; write a tag such as '1.0' or a reference such as 'localhost/app:1.0'");
  }
  if (reference.digest)
    fail_with(ExitCode::usage, "invalid tag ", quote(text), ": a tag cannot carry a digest; write a tag such as '1.0' "
              "or a reference such as 'localhost/app:1.0'");
}

std::string ImageReference::name() const { return domain + "/" + path; }

std::string ImageReference::to_string() const {
  std::string out = name();
  if (tag) out += ":" + *tag;
  if (digest) out += "@" + *digest;
  if (!tag && !digest) out += ":latest";
  return out;
}

ImageReference parse_image_reference(std::string_view text) {
  if (text.empty()) invalid(text, "it is empty");
  ImageReference reference;
  std::string_view rest = text;

  if (std::size_t at = rest.find('@'); at != std::string_view::npos) {
    reference.digest = std::string(rest.substr(at + 1));
    check_digest(text, *reference.digest);
    rest = rest.substr(0, at);
  }
  // The tag follows the last ':' unless a '/' comes after it (then the colon
  // belongs to a registry port).
  if (std::size_t colon = rest.rfind(':'); colon != std::string_view::npos &&
                                           rest.find('/', colon) == std::string_view::npos) {
    reference.tag = std::string(rest.substr(colon + 1));
    try {
      check_tag(*reference.tag);
    } catch (const Error& error) {
      invalid(text, error.what());
    }
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) invalid(text, "the name before the tag or digest is empty");
  if (rest.size() > 255) invalid(text, "the name is longer than 255 characters");

  std::vector<std::string> components = split(rest, '/');
  if (components.size() > 1 && looks_like_domain(components.front())) {
    reference.domain = components.front();
    components.erase(components.begin());
    if (!std::regex_match(reference.domain, domain_pattern()))
      invalid(text, cat("the registry ", quote(reference.domain), " is not a valid host name[:port]"));
  } else {
    reference.domain = "docker.io";
  }
  for (const std::string& component : components) {
    if (!std::regex_match(component, path_component()))
      invalid(text, cat("the name component ", quote(component),
                        " must be lower-case letters and digits, separated by '.', '_', '__' or '-'"));
  }
  reference.path = join(components, "/");
  if (reference.domain == "docker.io" && components.size() == 1) reference.path = "library/" + reference.path;
  return reference;
}

}  // namespace imgbuild::recipe
