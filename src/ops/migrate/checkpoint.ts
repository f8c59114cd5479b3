import { readFileSync } from 'node:fs'
import { AtomicFile } from '../../data/atomic-file.js'
import { UsageError } from '../../errors.js'
import type { Checkpoint } from './types.js'

/** Read a checkpoint; undefined when the file does not exist. A file that is not one is an error (exit 2). */
export function loadCheckpoint(path: string): Checkpoint | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new UsageError(`cannot read checkpoint ${path}: ${(err as NodeJS.ErrnoException).code}`)
  }
  try {
    const c = JSON.parse(text) as Checkpoint
    if (c.kind !== 'kvtop-migrate' || c.version !== 1 || typeof c.nodes !== 'object')
      throw new Error('not a kvtop migrate checkpoint')
    return c
  } catch (err) {
    throw new UsageError(`${path} is not a kvtop migrate checkpoint: ${(err as Error).message}`, {
      hint: 'Give another --checkpoint file, or remove this one to start over.',
    })
  }
}

/** Write it atomically (temporary file, then rename), mode 0600: a crash leaves the previous one. */
export async function saveCheckpoint(path: string, c: Checkpoint): Promise<void> {
  const file = AtomicFile.open(path, { overwrite: true })
  file.writeSync(Buffer.from(JSON.stringify({ ...c, updatedAt: Date.now() }, null, 2) + '\n'))
  await file.commit()
}
