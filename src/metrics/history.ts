/** A fixed-capacity ring buffer: the newest `capacity` values, oldest first when read. */
export class RingBuffer<T> {
  private readonly items: (T | undefined)[]
  private start = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError('ring buffer capacity must be a positive integer')
    this.items = new Array<T | undefined>(capacity)
  }

  push(value: T): void {
    const index = (this.start + this.count) % this.capacity
    this.items[index] = value
    if (this.count < this.capacity) this.count++
    else this.start = (this.start + 1) % this.capacity
  }

  get length(): number {
    return this.count
  }

  /** i-th oldest (0) ... newest (length - 1); negative counts from the newest (-1). */
  at(i: number): T | undefined {
    const k = i < 0 ? this.count + i : i
    if (k < 0 || k >= this.count) return undefined
    return this.items[(this.start + k) % this.capacity]
  }

  last(): T | undefined {
    return this.at(-1)
  }

  toArray(): T[] {
    return this.tail(this.count)
  }

  /** The newest `n` items (all when fewer), oldest first. */
  tail(n: number): T[] {
    const k = Math.max(0, Math.min(n, this.count))
    const out: T[] = new Array<T>(k)
    for (let i = 0; i < k; i++) out[i] = this.items[(this.start + this.count - k + i) % this.capacity] as T
    return out
  }

  clear(): void {
    this.items.fill(undefined)
    this.start = 0
    this.count = 0
  }
}

export interface Sample {
  at: number
  value: number
}

/** Time series by name (e.g. `ops:<nodeId>`, `lag:<nodeId>`), each a ring buffer of samples. */
export class SeriesStore {
  private readonly series = new Map<string, RingBuffer<Sample>>()

  constructor(readonly capacity = 300) {}

  add(name: string, at: number, value: number | undefined): void {
    if (value === undefined || !Number.isFinite(value)) return
    let ring = this.series.get(name)
    if (!ring) {
      ring = new RingBuffer<Sample>(this.capacity)
      this.series.set(name, ring)
    }
    ring.push({ at, value })
  }

  get(name: string): Sample[] {
    return this.series.get(name)?.toArray() ?? []
  }

  /** The newest `n` samples of a series, oldest first (a sparkline's worth, without copying the rest). */
  tail(name: string, n: number): Sample[] {
    return this.series.get(name)?.tail(n) ?? []
  }

  last(name: string): Sample | undefined {
    return this.series.get(name)?.last()
  }

  names(prefix = ''): string[] {
    return [...this.series.keys()].filter((k) => k.startsWith(prefix))
  }

  /** Drop series whose name starts with `prefix` (a node that left the cluster). */
  drop(prefix: string): void {
    for (const k of [...this.series.keys()]) if (k.startsWith(prefix)) this.series.delete(k)
  }
}
