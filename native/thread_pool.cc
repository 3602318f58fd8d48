// Persistent worker pool for the native kernels.
//
// Workers spin briefly after each job (back-to-back calls from JS then start without a syscall),
// then sleep on a condition variable. Pool state lives on the heap and is never destroyed by static
// destructors, so no destructor can run under a live worker at process exit (idle workers simply
// end with the process, and nothing keeps Node's event loop alive). When the last Node environment
// that loaded the addon is cleaned up (napi_add_env_cleanup_hook), the workers are stopped and
// joined; a later call creates a fresh pool.
#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KEEL_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define KEEL_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define KEEL_CPU_RELAX() ((void)0)
#endif

namespace keel {
namespace {

// How long a thread spins (pause instructions, time-checked) before blocking: idle workers for
// the next job, the caller for the workers still finishing the current one.
constexpr std::chrono::microseconds kWorkerSpin{200};
constexpr std::chrono::microseconds kCallerSpin{2000};

// Spins until done() or the budget is spent; returns done().
template <class Done>
bool spin_until(Done done, std::chrono::microseconds budget) {
  if (done()) return true;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      KEEL_CPU_RELAX();
      if (done()) return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return done();
  }
}

// Job state word: [generation:32][closed:1][joined:31]. Workers join an open job of the
// generation they woke up for by CAS (joined+1), run tasks, and leave (joined-1). The caller closes
// the job once it has no tasks left to take and then waits only for workers that joined, so a
// worker the OS schedules late never delays the call: it finds the job closed and goes back to
// sleep without touching the job (which lives on the caller's stack).
constexpr uint64_t kClosed = uint64_t{1} << 31;
constexpr uint64_t kJoinedMask = kClosed - 1;
inline uint32_t gen_of(uint64_t s) { return static_cast<uint32_t>(s >> 32); }

struct Pool {
  int size = 1;  // participants including the caller (1 + workers actually started)
  std::vector<pthread_t> workers;

  std::mutex run_mutex;  // one job at a time

  std::mutex m;
  std::condition_variable cv_work;
  std::condition_variable cv_done;
  std::atomic<uint64_t> state{kClosed};  // generation 0, closed
  bool stop = false;                     // guarded by m

  // The current job; written by the caller before the state is published (release) and read only
  // by workers that joined it (acquire), which keeps the caller from returning.
  JobFn fn = nullptr;
  void* ctx = nullptr;
  int participants = 0;
  std::atomic<int> next_id{1};
};

void worker_loop(Pool* p) {
  uint32_t seen = 0;
  for (;;) {
    uint64_t s = p->state.load(std::memory_order_acquire);
    if (gen_of(s) == seen) {
      spin_until([&] { return gen_of(s = p->state.load(std::memory_order_acquire)) != seen; }, kWorkerSpin);
      if (gen_of(s) == seen) {
        std::unique_lock<std::mutex> lock(p->m);
        p->cv_work.wait(lock, [&] {
          return p->stop || gen_of(s = p->state.load(std::memory_order_acquire)) != seen;
        });
        if (p->stop) return;
      }
    }
    seen = gen_of(s);
    // Join unless the job is already closed (or a newer one replaced it: then loop round to it).
    bool joined = false;
    while (gen_of(s) == seen && !(s & kClosed)) {
      if (p->state.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel, std::memory_order_acquire)) {
        joined = true;
        break;
      }
    }
    if (!joined) {
      if (gen_of(s) != seen) seen = gen_of(s) - 1;  // a newer job is already up: take it next
      continue;
    }
    const int id = p->next_id.fetch_add(1, std::memory_order_relaxed);
    if (id < p->participants) p->fn(p->ctx, id);
    const uint64_t after = p->state.fetch_sub(1, std::memory_order_acq_rel) - 1;
    if ((after & kClosed) && (after & kJoinedMask) == 0) {
      std::lock_guard<std::mutex> lock(p->m);
      p->cv_done.notify_one();
    }
  }
}

// Process-wide state. Heap objects that are never freed: no static destructor can run while a
// worker still uses them.
std::mutex& global_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
Pool* g_pool = nullptr;  // guarded by global_mutex()
int g_env_refs = 0;      // guarded by global_mutex()

int available_cpus() {
  unsigned hw = std::thread::hardware_concurrency();
  int n = hw == 0 ? 1 : static_cast<int>(hw);
#ifdef CPU_COUNT
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int allowed = CPU_COUNT(&set);
    if (allowed > 0 && allowed < n) n = allowed;
  }
#endif
  return n;
}

int configured_size() {
  int n = 0;
  if (const char* env = std::getenv("KEEL_NUM_THREADS")) {
    char* end = nullptr;
    const long v = std::strtol(env, &end, 10);
    if (end != env && v >= 1) n = v > 64 ? 64 : static_cast<int>(v);
  }
  if (n == 0) n = available_cpus();
  if (n < 1) n = 1;
  if (n > 64) n = 64;
  return n;
}

void* worker_main(void* arg) {
  worker_loop(static_cast<Pool*>(arg));
  return nullptr;
}

Pool* get_pool() {
  std::lock_guard<std::mutex> lock(global_mutex());
  if (!g_pool) {
    Pool* p = new Pool;
    const int want = pool_size();
    p->workers.reserve(want - 1);
    // Workers block all signals (Node handles them on its own threads) and are created with
    // pthreads directly: std::thread would throw on failure, which -fno-exceptions turns into an
    // abort. If the system refuses a thread, the pool simply runs with the ones it got.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (int id = 1; id < want; ++id) {
      pthread_t t;
      if (pthread_create(&t, nullptr, worker_main, p) != 0) break;
      p->workers.push_back(t);
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    p->size = 1 + static_cast<int>(p->workers.size());
    g_pool = p;
  }
  return g_pool;
}

}  // namespace

int pool_size() {
  static const int n = configured_size();
  return n;
}

int pool_run(int participants, JobFn fn, void* ctx) {
  if (participants > pool_size()) participants = pool_size();
  if (participants <= 1) {
    fn(ctx, 0);
    return 1;
  }
  Pool* p = get_pool();
  std::unique_lock<std::mutex> run_lock(p->run_mutex, std::try_to_lock);
  if (!run_lock.owns_lock()) {  // another thread (worker_threads) is using the pool
    fn(ctx, 0);
    return 1;
  }
  if (participants > p->size) participants = p->size;
  const uint64_t prev = p->state.load(std::memory_order_relaxed);  // closed, nobody joined
  const uint64_t open = static_cast<uint64_t>(gen_of(prev) + 1u) << 32;
  {
    std::lock_guard<std::mutex> lock(p->m);
    p->fn = fn;
    p->ctx = ctx;
    p->participants = participants;
    p->next_id.store(1, std::memory_order_relaxed);
    p->state.store(open, std::memory_order_release);
  }
  p->cv_work.notify_all();
  fn(ctx, 0);  // returns once every task has been taken (by anyone)
  const uint64_t closed = p->state.fetch_or(kClosed, std::memory_order_acq_rel) | kClosed;
  if ((closed & kJoinedMask) != 0 &&
      !spin_until([&] { return (p->state.load(std::memory_order_acquire) & kJoinedMask) == 0; }, kCallerSpin)) {
    std::unique_lock<std::mutex> lock(p->m);
    p->cv_done.wait(lock, [&] { return (p->state.load(std::memory_order_acquire) & kJoinedMask) == 0; });
  }
  return participants;
}

void pool_env_acquire() {
  std::lock_guard<std::mutex> lock(global_mutex());
  ++g_env_refs;
}

void pool_env_release() {
  Pool* p = nullptr;
  {
    std::lock_guard<std::mutex> lock(global_mutex());
    if (--g_env_refs > 0 || !g_pool) return;
    p = g_pool;
    g_pool = nullptr;
  }
  {
    std::lock_guard<std::mutex> run_lock(p->run_mutex);  // wait for a job in flight
    std::lock_guard<std::mutex> lock(p->m);
    p->stop = true;
  }
  p->cv_work.notify_all();
  for (pthread_t t : p->workers) pthread_join(t, nullptr);
  delete p;
}

}  // namespace keel
