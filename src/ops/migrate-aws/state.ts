import { readFileSync } from 'node:fs'
import { AtomicFile } from '../../data/atomic-file.js'
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

/** The state of an earlier run, or undefined when there is none. Not a state file: exit 2. */
export function loadState(path: string): MigrateAwsState | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot read the state file ${path}: ${(err as NodeJS.ErrnoException).code}`)
  }
  try {
    const s = JSON.parse(text) as MigrateAwsState
    if (s.kind !== 'kvtop-migrate-aws' || s.version !== 1 || !s.steps || !s.params)
      throw new Error('not a kvtop migrate aws state file')
    return s
  } catch (err) {
    throw new UsageError(`${path} is not a kvtop migrate aws state file: ${(err as Error).message}`, {
      hint: 'Give another --state file, or remove this one to start over.',
    })
  }
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
export async function saveState(path: string, state: MigrateAwsState): Promise<void> {
  state.updatedAt = Date.now()
  const file = AtomicFile.open(path, { overwrite: true })
  file.writeSync(Buffer.from(JSON.stringify(state, null, 2) + '\n'))
  await file.commit()
}
