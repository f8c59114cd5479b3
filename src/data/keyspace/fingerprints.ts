/**
 * A compact set of key fingerprints, for dropping the keys SCAN returns twice (it may, while a hash
 * table shrinks; and a cluster key can be seen on two nodes while its slot moves). Each key is kept
 * as 96 bits — three independently seeded 32-bit hashes of the database number and the key — in
 * open-addressing typed arrays: about 24 bytes per key, never the keys themselves. Two different
 * keys are taken for one only if both hashes collide (odds near 1e-20 per pair).
 */
export class KeyFingerprintSet {
  private hi: Uint32Array
  private lo: Uint32Array
  private extra: Uint32Array
  private used: Uint8Array
  private mask: number
  private count = 0

  constructor(initialCapacity = 1 << 16) {
    let cap = 1024
    while (cap < initialCapacity * 2) cap *= 2
    this.mask = cap - 1
    this.hi = new Uint32Array(cap)
    this.lo = new Uint32Array(cap)
    this.extra = new Uint32Array(cap)
    this.used = new Uint8Array(cap)
  }

  get size(): number {
    return this.count
  }

  /** Bytes held by the tables. */
  get memoryBytes(): number {
    return this.used.length * 13
  }

  /** Add the key; false when it was already there. */
  add(db: number, key: Uint8Array, start = 0, end = key.length): boolean {
    // FNV-1a, a multiply-rotate hash and a multiply-xorshift hash, each finished with murmur3's
    // avalanche: three different mixings of the same bytes.
    let a = 0x811c9dc5 ^ db
    let b = 0x9747b28c + db
    let c = 0x2545f491 ^ Math.imul(db, 0x85ebca6b)
    for (let i = start; i < end; i++) {
      const x = key[i]
      a = Math.imul(a ^ x, 0x01000193)
      const t = b + Math.imul(x + 1, 0xcc9e2d51)
      b = Math.imul((t << 13) | (t >>> 19), 0x1b873593)
      c = Math.imul(c ^ (x + 0x9e), 0x5bd1e995)
      c ^= c >>> 15
    }
    const len = end - start
    const lo = fmix(a ^ len) >>> 0
    const hi = fmix(b ^ len) >>> 0
    const extra = fmix(c ^ len) >>> 0
    let slot = (lo ^ Math.imul(hi, 0x9e3779b1)) & this.mask
    for (;;) {
      if (!this.used[slot]) break
      if (this.lo[slot] === lo && this.hi[slot] === hi && this.extra[slot] === extra) return false
      slot = (slot + 1) & this.mask
    }
    this.used[slot] = 1
    this.lo[slot] = lo
    this.hi[slot] = hi
    this.extra[slot] = extra
    this.count++
    if (this.count * 2 > this.mask) this.grow()
    return true
  }

  private grow(): void {
    const { hi, lo, extra, used } = this
    const cap = used.length * 2
    this.mask = cap - 1
    this.hi = new Uint32Array(cap)
    this.lo = new Uint32Array(cap)
    this.extra = new Uint32Array(cap)
    this.used = new Uint8Array(cap)
    for (let i = 0; i < used.length; i++) {
      if (!used[i]) continue
      let slot = (lo[i] ^ Math.imul(hi[i], 0x9e3779b1)) & this.mask
      while (this.used[slot]) slot = (slot + 1) & this.mask
      this.used[slot] = 1
      this.lo[slot] = lo[i]
      this.hi[slot] = hi[i]
      this.extra[slot] = extra[i]
    }
  }
}

function fmix(h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h
}
