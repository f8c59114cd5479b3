import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { OperationEvent, ProgressEvent } from '../../../../src/ops/events.js'
import { inspectSnapshot } from '../../../../src/ops/snapshot/inspect.js'
import { summarize } from '../../../../src/ops/snapshot/restore-file.js'
import { rdbFile, str } from '../../../helpers/rdb-craft.js'

/**
 * The passes over a whole file (restore's verification, inspect) emit progress at most every
 * 250 ms, the first as soon as the first chunk is read. A pass shorter than that must still end
 * on an event that says the whole file was read: the final status line is drawn from the last one
 * (it showed "verify 1048522/46024265 bytes (2.3%)" after a finished restore).
 */
describe('a pass over a file ends on a progress event for the whole file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvtop-file-pass-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  // Three 1 MB values with NUL, CR LF and invalid UTF-8: larger than the reader's first chunk.
  const value = Buffer.alloc(1 << 20, Buffer.from([0x00, 0x0d, 0x0a, 0xff, 0xc3]))
  const file = join(dir, 'three-mb.rdb')
  const bytes = rdbFile(10, [
    {
      db: 0,
      entries: [0, 1, 2].map((i) => ({ type: 0, key: Buffer.from(`k\r\n\0${i}\xff`), value: str(value) })),
    },
  ])
  writeFileSync(file, bytes)

  // Each pass with what it must still have found: the file read whole, its checksum good.
  const passes: [string, (emit: (e: OperationEvent) => void) => Promise<unknown>][] = [
    [
      'verify',
      async (emit) => {
        const summary = await summarize(file, emit, bytes.length)
        expect([summary.keys, summary.checksum]).toEqual([3, 'ok'])
      },
    ],
    [
      'inspect',
      async (emit) => {
        const report = await inspectSnapshot(file, { onEvent: emit })
        expect([report.totals.keys, report.checksum.status]).toEqual([3, 'ok'])
      },
    ],
  ]
  it.each(passes)('%s: the first event is part of the file, the last all of it', async (task, pass) => {
    const events: OperationEvent[] = []
    await pass((e) => events.push(e))
    const progress = events.filter((e): e is ProgressEvent => e.type === 'progress')
    expect(progress[0].done).toBeLessThan(bytes.length)
    expect(progress.at(-1)).toMatchObject({ task, unit: 'bytes', done: bytes.length, total: bytes.length })
  })
})
