// Keel native thread pool: one process-wide pool of persistent workers, created lazily.
// The calling thread always takes part as participant 0, so a pool of size n has n-1 workers.
#ifndef KEEL_NATIVE_THREAD_POOL_H_
#define KEEL_NATIVE_THREAD_POOL_H_

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace keel {

/** A job body: called once on each participant with its id in [0, participants). */
using JobFn = void (*)(void* ctx, int participant);

/**
 * Runs fn on min(participants, pool size) threads (the caller included) and returns when all are
 * done. If the pool is busy with another caller (e.g. a worker_thread), or participants <= 1, fn
 * runs on the calling thread alone as participant 0. Returns the number of participants used.
 */
int pool_run(int participants, JobFn fn, void* ctx);

/** Threads a job may use (KEEL_NUM_THREADS, else the CPUs available, clamped to 1..64). */
int pool_size();

/**
 * Runs body(task) for task in [0, ntasks) on up to `threads` pool threads; false if any task failed.
 * Tasks are claimed dynamically: a participant may run any number of them (a pool worker that
 * wakes late may run none), so bodies must not assume which participant runs which task.
 */
template <class Body>
bool parallel_tasks(int64_t ntasks, int threads, Body body) {
  struct Ctx {
    Body* body;
    int64_t ntasks;
    std::atomic<int64_t> next{0};
    std::atomic<bool> failed{false};
  } ctx;
  ctx.body = &body;
  ctx.ntasks = ntasks;
  const int participants = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, ntasks)));
  pool_run(
      participants,
      [](void* p, int) {
        Ctx& c = *static_cast<Ctx*>(p);
        for (;;) {
          const int64_t t = c.next.fetch_add(1, std::memory_order_relaxed);
          if (t >= c.ntasks || c.failed.load(std::memory_order_relaxed)) return;
          if (!(*c.body)(t)) c.failed.store(true, std::memory_order_relaxed);
        }
      },
      &ctx);
  return !ctx.failed.load();
}

void pool_env_acquire();
void pool_env_release();

}  // namespace keel

#endif  // KEEL_NATIVE_THREAD_POOL_H_
