// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>

// Process-wide list of things to undo if the build is interrupted: runtime
// containers to delete, mounts to detach, temporary directories to remove.
// RAII owners register on creation and unregister when they clean up
// themselves; SIGINT and SIGTERM run everything still listed, newest first,
// then exit with 128 plus the signal number.
namespace imgbuild::cleanup {

// Blocks SIGINT and SIGTERM in every thread and starts the thread that waits
// for them. Call once from main before any other thread starts.
void install_signal_handler();

void register_path(const std::filesystem::path& path);
void unregister_path(const std::filesystem::path& path);

void register_mount(const std::filesystem::path& target);
void unregister_mount(const std::filesystem::path& target);

// Registers an arbitrary undo action; returns a handle for `unregister_action`.
std::uint64_t register_action(std::function<void()> action);
void unregister_action(std::uint64_t handle);

// Runs every registered undo, newest first. Used by the signal thread and by
// tests that simulate an interrupt.
void run_all() noexcept;

// True once SIGINT or SIGTERM arrived; long loops check it to stop early.
bool interrupted() noexcept;

// 128 plus the signal that interrupted the build: 130 for SIGINT, 143 for
// SIGTERM.
int interrupt_exit_code() noexcept;

// Prints, once per process, that the build was interrupted: a line, or an
// "interrupted" event under --progress json.
void announce_interrupt() noexcept;

}  // namespace imgbuild::cleanup
