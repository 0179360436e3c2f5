// SPDX-License-Identifier: Apache-2.0
#include "build/scheduler.hpp"

#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>

namespace imgbuild::build {
namespace {

enum class State { waiting, running, done };

struct Graph {
  const std::vector<std::vector<std::size_t>>& dependencies;
  std::vector<State> states;
  std::mutex mutex;
  std::condition_variable changed;
  std::exception_ptr error;
  int running = 0;

  bool ready(std::size_t node) const {
    if (states[node] != State::waiting) return false;
    for (std::size_t dependency : dependencies[node])
      if (states[dependency] != State::done) return false;
    return true;
  }

  bool all_done() const {
    for (State state : states)
      if (state != State::done) return false;
    return true;
  }
};

}  // namespace

void run_graph(std::size_t count, const std::vector<std::vector<std::size_t>>& dependencies, int jobs,
               const std::function<void(std::size_t)>& work) {
  Graph graph{dependencies, std::vector<State>(count, State::waiting), {}, {}, {}, 0};
  if (jobs < 1) jobs = 1;
  std::vector<std::thread> threads;
  std::unique_lock lock(graph.mutex);

  while (!graph.all_done()) {
    bool started = false;
    for (std::size_t node = 0; node < count && !graph.error && graph.running < jobs; ++node) {
      if (!graph.ready(node)) continue;
      graph.states[node] = State::running;
      ++graph.running;
      started = true;
      threads.emplace_back([&graph, &work, node] {
        std::exception_ptr error;
        try {
          work(node);
        } catch (...) {
          error = std::current_exception();
        }
        std::lock_guard guard(graph.mutex);
        graph.states[node] = State::done;
        --graph.running;
        if (error && !graph.error) graph.error = error;
        graph.changed.notify_all();
      });
    }
    if (graph.error && graph.running == 0) break;
    if (!started) graph.changed.wait(lock);
  }
  lock.unlock();
  for (auto& thread : threads) thread.join();
  if (graph.error) std::rethrow_exception(graph.error);
}

}  // namespace imgbuild::build
