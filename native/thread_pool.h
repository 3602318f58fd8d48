// Keel native thread pool: one process-wide pool of persistent workers, created lazily.
// The calling thread always takes part as participant 0, so a pool of size n has n-1 workers.
#ifndef KEEL_NATIVE_THREAD_POOL_H_
#define KEEL_NATIVE_THREAD_POOL_H_

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

void pool_env_acquire();
void pool_env_release();

}  // namespace keel

#endif  // KEEL_NATIVE_THREAD_POOL_H_
