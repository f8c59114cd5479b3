import { loadStateFile, saveStateFile } from '../../data/state-file.js'
import { UsageError } from '../../errors.js'
import { STEPS, type MigrateAwsParams, type MigrateAwsState } from './types.js'

export function freshState(params: MigrateAwsParams, now = Date.now()): MigrateAwsState {
  return {
    kind: 'kvtop-migrate-aws',
    version: 1,
    params,
    startedAt: now,
    updatedAt: now,
    steps: Object.fromEntries(STEPS.map((s) => [s, { done: false }])) as MigrateAwsState['steps'],
  }
}

const STATE = {
  kind: 'kvtop-migrate-aws',
  version: 1,
  what: 'kvtop migrate aws state file',
  flag: '--state',
  valid: (s: MigrateAwsState) => Boolean(s.steps && s.params),
}

/** The state of an earlier run, or undefined when there is none. Not a state file: exit 2. */
export function loadState(path: string): MigrateAwsState | undefined {
  return loadStateFile<MigrateAwsState>(path, STATE)
}

/** A resume must do what the first run did: the same source, target, bucket and shape. */
export function checkSameParams(
  path: string,
  saved: MigrateAwsParams,
  asked: Partial<MigrateAwsParams>,
): void {
  const differ = (Object.keys(asked) as (keyof MigrateAwsParams)[]).filter(
    (k) => asked[k] !== undefined && saved[k] !== asked[k],
  )
  if (differ.length)
    throw new UsageError(
      `the state file ${path} records another migration (${differ.map((k) => `${k}: ${String(saved[k])}, not ${String(asked[k])}`).join('; ')})`,
      { hint: 'Run with the same flags to resume it, or give another --state file to start a new one.' },
    )
}

/** Atomically (temporary file, rename), mode 0600: an interruption leaves the previous state. */
export function saveState(path: string, state: MigrateAwsState): Promise<void> {
  return saveStateFile(path, state)
}
