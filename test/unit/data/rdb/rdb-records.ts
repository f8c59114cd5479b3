/** Reading RDB bytes into records in the codec tests: the redis-server fixtures, chunked input, entries only. */
import { fileURLToPath } from 'node:url'
import { RdbReader, type RdbEntry, type RdbRecord } from '../../../../src/data/rdb/reader.js'

export const dir = fileURLToPath(new URL('../../../fixtures/rdb/', import.meta.url))
export const BIN = Buffer.from([0xff, 0xfe, 0x0d, 0x0a, 0x00])

export async function* once(buf: Buffer, size = buf.length || 1): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size)
}

export async function read(buf: Buffer, options = {}): Promise<RdbRecord[]> {
  const out: RdbRecord[] = []
  for await (const b of new RdbReader(once(buf, 97), { countElements: true, ...options }).batches())
    out.push(...b)
  return out
}

export const entries = (rs: RdbRecord[]) => rs.filter((r): r is RdbEntry => r.kind === 'entry')

/** What a record says, bytes included (taken while its views are valid), comparable with toEqual. */
export function shape(r: RdbRecord): unknown {
  if (r.kind === 'entry')
    return {
      kind: r.kind,
      db: r.db,
      type: r.rdbType,
      key: r.key.toString('hex'),
      value: r.value.toString('hex'),
      expireAt: r.expireAt,
      idle: r.idle,
      freq: r.freq,
      offset: r.offset,
      size: r.size,
    }
  if (r.kind === 'eof' || r.kind === 'header') return { ...r }
  return { kind: r.kind, offset: 'offset' in r ? r.offset : undefined }
}

/** Every record of batches(), each as its shape. */
export async function shapesOfBatches(reader: RdbReader): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const batch of reader.batches()) for (const r of batch) out.push(shape(r))
  return out
}
