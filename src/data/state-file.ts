import { readFileSync } from 'node:fs'
import { UsageError } from '../errors.js'
import { AtomicFile } from './atomic-file.js'

/**
 * JSON files that record where a long operation stands (migrate checkpoints, migrate aws state):
 * read back with a clear error when a file is not one, written atomically (temporary name, then
 * rename; mode 0600) and one write at a time per file — two writes racing on the same temporary
 * name could otherwise rename a mix of both into place.
 */
export interface StateFileKind<T> {
  /** The `kind` field every such file carries. */
  kind: string
  version: number
  /** Words for messages: "kvtop migrate checkpoint". */
  what: string
  /** The flag that names the file, for the hint. */
  flag: string
  /** Further shape checks. */
  valid?: (value: T) => boolean
}

/** The recorded state, or undefined when there is no file. Anything else there is an error (exit 2). */
export function loadStateFile<T extends { kind: string; version: number }>(
  path: string,
  kind: StateFileKind<T>,
): T | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code}`)
  }
  try {
    const value = JSON.parse(text) as T
    if (value?.kind !== kind.kind || value.version !== kind.version || (kind.valid && !kind.valid(value)))
      throw new Error(`not a ${kind.what}`)
    return value
  } catch (err) {
    throw new UsageError(`${path} is not a ${kind.what}: ${(err as Error).message}`, {
      hint: `Give another ${kind.flag} file, or remove this one to start over.`,
    })
  }
}

const writing = new Map<string, Promise<void>>()

/** Write the state (with `updatedAt` set now), after any write of the same file still under way. */
export function saveStateFile(path: string, value: { updatedAt: number }): Promise<void> {
  const write = async () => {
    value.updatedAt = Date.now()
    const file = AtomicFile.open(path, { overwrite: true })
    file.writeSync(Buffer.from(JSON.stringify(value, null, 2) + '\n'))
    await file.commit()
  }
  const previous = writing.get(path) ?? Promise.resolve()
  const next = previous.catch(() => {}).then(write)
  writing.set(path, next)
  void next
    .finally(() => {
      if (writing.get(path) === next) writing.delete(path)
    })
    .catch(() => {})
  return next
}
