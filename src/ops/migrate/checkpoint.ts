import { loadStateFile, saveStateFile } from '../../data/state-file.js'
import type { Checkpoint } from './types.js'

const CHECKPOINT = {
  kind: 'kvtop-migrate',
  version: 1,
  what: 'kvtop migrate checkpoint',
  flag: '--checkpoint',
  valid: (c: Checkpoint) => typeof c.nodes === 'object' && c.nodes !== null,
}

/** Read a checkpoint; undefined when the file does not exist. A file that is not one is an error (exit 2). */
export function loadCheckpoint(path: string): Checkpoint | undefined {
  return loadStateFile<Checkpoint>(path, CHECKPOINT)
}

/** Write it atomically, mode 0600: a crash leaves the previous one. */
export function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  return saveStateFile(path, c)
}
