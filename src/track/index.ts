// Experiment tracking (Keel's local answer to W&B): track.init() starts a Run recorded in a SQLite
// store under runsDir; track.callback(run) logs fit(); the read API (RunsReader) serves `keel runs`
// and the dashboard.
import { Run } from './run.js';
import type { InitOptions } from './validate.js';

export { callback, TrackCallback, type TrackCallbackOptions } from './callback.js';
export {
  type Comparison,
  checkMaxPoints,
  DEFAULT_MAX_POINTS,
  effectiveStatus,
  type LogLine,
  type MetricPoint,
  openReader,
  type RunEnv,
  type RunExport,
  type RunInfo,
  type RunStatus,
  type RunSummary,
  RunsReader,
  type SeriesInfo,
  STALE_MS,
  type SystemPoint,
  TrackError,
} from './query.js';
export { Run } from './run.js';
export { SCHEMA_VERSION } from './schema.js';
export { defaultRunsDir, storePath } from './store.js';
export type { InitOptions, Metrics } from './validate.js';

/**
 * Starts a run: `track.init({ project, name, group, tags, config, runsDir, mode })`. The run records
 * metrics (`run.log`), system metrics every 2 s, the console, and its end (`run.finish`, or at
 * process exit).
 */
export function init(options: InitOptions = {}): Run {
  return new Run(options);
}
