import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs'
import { hostname } from 'node:os'
import { UsageError } from '../errors.js'
import { AtomicFile } from './atomic-file.js'
import { parseJsonText } from '../json-text.js'

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
  /** What to do with a file of this kind written by another version (default: start over). */
  otherVersionHint?: string
  /**
   * Reads a file from before the kind had a `kind` field: the value in today's shape, or undefined
   * when it is not one.
   */
  upgrade?: (value: unknown) => T | undefined
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
  let value: T
  try {
    value = parseJsonText(text) as T
    const upgraded = value?.kind === undefined ? kind.upgrade?.(value) : undefined
    if (upgraded) return upgraded
    if (value?.kind !== kind.kind) throw new Error(`not a ${kind.what}`)
  } catch (err) {
    throw new UsageError(`${path} is not a ${kind.what}: ${(err as Error).message}`, {
      hint: `Give another ${kind.flag} file, or remove this one to start over.`,
    })
  }
  // The right kind, another format: say so, rather than misreading it.
  if (value.version !== kind.version) {
    const older = typeof value.version === 'number' && value.version < kind.version
    throw new UsageError(
      `${path} was written by ${older ? 'an older' : 'a newer'} kvtop (format version ${String(value.version)}; this kvtop reads version ${kind.version}): start a new ${kind.what}`,
      {
        code: 'state-version',
        hint: kind.otherVersionHint ?? `Give another ${kind.flag} file, or remove this one to start over.`,
      },
    )
  }
  if (kind.valid && !kind.valid(value))
    throw new UsageError(`${path} is not a ${kind.what}: its fields are not those of one`, {
      hint: `Give another ${kind.flag} file, or remove this one to start over.`,
    })
  return value
}

const writing = new Map<string, Promise<void>>()

/** Write the state (with `updatedAt` set now), after any write of the same file still under way. */
export function saveStateFile(path: string, value: { updatedAt?: number }): Promise<void> {
  const write = async () => {
    value.updatedAt = Date.now()
    const file = AtomicFile.open(path, { overwrite: true })
    try {
      file.writeSync(Buffer.from(JSON.stringify(value, null, 2) + '\n'))
    } catch (err) {
      file.abort()
      throw err
    }
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

/** Who holds a state file's lock: written into `<file>.lock`. */
interface LockOwner {
  pid: number
  host: string
  since: number
}

export interface StateFileLock {
  readonly path: string
  /** The previous owner, when its lock was left behind by a process that is gone. */
  readonly tookOver?: LockOwner
  release(): void
}

function readLock(path: string): LockOwner | undefined {
  try {
    const value = JSON.parse(readFileSync(path, 'utf8')) as LockOwner
    return Number.isInteger(value?.pid) ? value : undefined
  } catch {
    return undefined
  }
}

/**
 * Is that kvtop process still running? Only a process on this host can be checked; elsewhere
 * the lock is assumed held. Where /proc tells, a live pid that is not a kvtop (a reused pid) does
 * not count.
 */
function ownerAlive(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return true
  try {
    process.kill(owner.pid, 0)
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    return /kvtop/.test(readFileSync(`/proc/${owner.pid}/cmdline`, 'utf8'))
  } catch {
    return true
  }
}

/**
 * Take the lock of a state file (`<file>.lock`, created exclusively), so that two runs never use
 * the same file at once. A lock held by a live process is refused (exit 2, naming the pid); one
 * left by a process that is gone (killed) is taken over, and `tookOver` names it.
 */
export function lockStateFile(path: string, kind: { what: string; flag: string }): StateFileLock {
  const lockPath = `${path}.lock`
  const me: LockOwner = { pid: process.pid, host: hostname(), since: Date.now() }
  let tookOver: LockOwner | undefined
  for (let attempt = 0; attempt < 5; attempt++) {
    let fd: number
    try {
      fd = openSync(lockPath, 'wx', 0o600)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EEXIST')
        throw new UsageError(`cannot lock ${path}: cannot create ${lockPath} (${code ?? errorText(err)})`, {
          hint: 'Check that the directory exists and is writable.',
        })
      const owner = readLock(lockPath)
      if (owner && ownerAlive(owner)) {
        throw new UsageError(
          `the ${kind.what} ${path} is in use by another kvtop run (pid ${owner.pid} on ${owner.host}, since ${new Date(owner.since).toISOString()})`,
          {
            code: 'state-locked',
            hint: `Wait for that run to end, or stop it; or give another ${kind.flag} file. If that process is gone, remove ${lockPath}.`,
          },
        )
      }
      // Left behind (or half written by a process killed while writing it): move it aside under a
      // name of our own, and only remove it if it is still the dead one (another run may have
      // taken it over meanwhile).
      const aside = `${lockPath}.${process.pid}.stale`
      try {
        renameSync(lockPath, aside)
      } catch {
        continue
      }
      const moved = readLock(aside)
      if (moved && ownerAlive(moved)) {
        try {
          linkSync(aside, lockPath)
        } catch {
          // someone else holds it now: refused on the next attempt
        }
        rmSync(aside, { force: true })
        continue
      }
      rmSync(aside, { force: true })
      tookOver = moved ?? owner ?? { pid: 0, host: me.host, since: 0 }
      continue
    }
    try {
      writeSync(fd, JSON.stringify(me) + '\n')
    } finally {
      closeSync(fd)
    }
    let released = false
    return {
      path: lockPath,
      ...(tookOver ? { tookOver } : {}),
      release: () => {
        if (released) return
        released = true
        // Only our own lock: never one another run took over.
        if (readLock(lockPath)?.pid === me.pid) rmSync(lockPath, { force: true })
      },
    }
  }
  throw new UsageError(`cannot lock ${path}: ${lockPath} keeps changing (another run starting?)`, {
    code: 'state-locked',
    hint: `Try again, or give another ${kind.flag} file.`,
  })
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
