import { existsSync, readdirSync, readlinkSync } from 'node:fs'

/**
 * Descriptors this process holds open on `path` or on files under it (Linux: /proc/self/fd);
 * undefined elsewhere. Counting only those, not all the process's descriptors, keeps a leak check
 * true while test files running beside it open and close descriptors of their own.
 */
export function fdsOpenOn(path: string): number | undefined {
  if (!existsSync('/proc/self/fd')) return undefined
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(path)) n++
    } catch {
      // closed meanwhile
    }
  }
  return n
}
