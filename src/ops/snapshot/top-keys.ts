import { escapeBytes } from '../../data/escape.js'
import type { RdbEntry } from '../../data/rdb/reader.js'

/** One of the largest keys of a file, as `snapshot inspect` lists them. */
export interface LargestKey {
  /** Escaped the way redis-cli prints keys. */
  key: string
  db: number
  type: string
  encoding: string
  /** Serialized size of the value in the file. */
  bytes: number
  elements: number
  expireAt?: number
}

/** A bounded min-heap on value size: keeps the `limit` largest entries seen. */
export class TopKeys {
  private readonly heap: LargestKey[] = []
  constructor(private readonly limit: number) {}

  offer(entry: RdbEntry, bytes: number): void {
    if (this.limit <= 0) return
    if (this.heap.length >= this.limit && bytes <= this.heap[0].bytes) return
    const item: LargestKey = {
      key: escapeBytes(entry.key),
      db: entry.db,
      type: entry.module ? `module:${entry.module}` : entry.type.kind,
      encoding: entry.type.encoding,
      bytes,
      elements: entry.elements,
      ...(entry.expireAt !== undefined ? { expireAt: entry.expireAt } : {}),
    }
    if (this.heap.length < this.limit) this.push(item)
    else this.replaceSmallest(item)
  }

  sorted(): LargestKey[] {
    return [...this.heap].sort((a, b) => b.bytes - a.bytes)
  }

  /** Add `item`, moving it up past the larger ones. */
  private push(item: LargestKey): void {
    const h = this.heap
    h.push(item)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (h[p].bytes <= h[i].bytes) break
      ;[h[p], h[i]] = [h[i], h[p]]
      i = p
    }
  }

  /** `item` in the place of the smallest, moved down past the smaller ones. */
  private replaceSmallest(item: LargestKey): void {
    const h = this.heap
    h[0] = item
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < h.length && h[l].bytes < h[m].bytes) m = l
      if (r < h.length && h[r].bytes < h[m].bytes) m = r
      if (m === i) break
      ;[h[m], h[i]] = [h[i], h[m]]
      i = m
    }
  }
}
