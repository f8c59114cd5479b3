import { escapeBytes } from '../../data/escape.js'
import { RespError, type Reply } from '../../wire/reply-parser.js'
import { OperationError } from '../../errors.js'
import { lengthCommand } from '../../redis/commands.js'
import type { CommandArg } from '../../wire/encode.js'
import {
  compareValue,
  compareWholeReplies,
  wholeValueRead,
  type Endpoints,
  type ValueMismatch,
} from './logical.js'
import type { Side } from './side.js'
import type { Difference } from './types.js'

export interface CompareSettings {
  ttlToleranceMs: number
  chunkElements: number
  showValues: boolean
  /** TYPE only: quick mode. */
  typesOnly?: boolean
  /**
   * Both sides have PEXPIRETIME (Redis 7+): expiries compared as absolute times, so a reply that
   * comes later from one side (a busy node) does not look like a TTL difference.
   */
  absoluteTtl?: boolean
}

/** Values up to this many elements (or bytes, for strings) are compared by DUMP first. */
const DUMP_LIMIT_BYTES = 512 * 1024

/** What one pipelined round of whole-value reads may bring back from each side, about. */
const READ_BUDGET_BYTES = 8 << 20
/** A guess of an element's size (member, field and value, score) for the budget. */
const ELEMENT_BYTES = 64

/** Whole-value reads in groups whose replies stay within the budget (memory bounded per round). */
function byReadBudget<T extends { x: { type: string; length: number } }>(items: T[]): T[][] {
  const groups: T[][] = []
  let group: T[] = []
  let bytes = 0
  for (const item of items) {
    const cost = item.x.type === 'string' ? item.x.length : item.x.length * ELEMENT_BYTES
    if (group.length && bytes + cost > READ_BUDGET_BYTES) {
      groups.push(group)
      group = []
      bytes = 0
    }
    group.push(item)
    bytes += cost
  }
  if (group.length) groups.push(group)
  return groups
}

/**
 * A reply that must be a value. An error reply (NOPERM, a proxy's refusal, a redirect not
 * followed ...) stops the comparison: it is never read as "no such key" or "no expiry".
 */
function checked(r: Reply, what: string, side: Side): Reply {
  if (!(r instanceof RespError)) return r
  throw new OperationError(`${what} refused on the ${side.label}: ${r.message}`, {
    hint: 'verify reads TYPE, PTTL (PEXPIRETIME on Redis 7+), the length commands and DUMP on both sides: connect as a user allowed them.',
  })
}

function text(r: Reply, what: string, side: Side): string {
  const v = checked(r, what, side)
  return Buffer.isBuffer(v) ? v.toString() : String(v)
}

function int(r: Reply, what: string, side: Side): number {
  const v = checked(r, what, side)
  const n = Number(Buffer.isBuffer(v) ? v.toString() : v)
  if (v === null || !Number.isInteger(n))
    throw new OperationError(`${what} on the ${side.label} answered ${String(v)}, not an integer`)
  return n
}

const shown = (b: Buffer | undefined) =>
  b === undefined ? undefined : escapeBytes(b.length > 256 ? b.subarray(0, 256) : b)

export function difference(
  category: Difference['category'],
  key: Buffer,
  db: number,
  detail: string,
  extra: Partial<Difference> = {},
): Difference {
  return { category, key: escapeBytes(key), keyHex: key.toString('hex'), db, detail, ...extra }
}

/**
 * Compare a batch of keys between the source db and the target db: existence, type, TTL (within
 * the tolerance), then the value — equal DUMP payloads settle it at once; otherwise (or for big
 * values) the value is compared logically, element by element. A key gone from both sides is not a
 * difference (it expired or was deleted meanwhile).
 */
export async function compareKeys(e: Endpoints, keys: Buffer[], s: CompareSettings): Promise<Difference[]> {
  const ttlCmd = s.absoluteTtl ? 'PEXPIRETIME' : 'PTTL'
  const head = (k: Buffer) =>
    s.typesOnly
      ? [['TYPE', k]]
      : [
          ['TYPE', k],
          [ttlCmd, k],
        ]
  const [src, tgt] = await Promise.all([
    e.source.perKey(e.sourceDb, keys, head),
    e.target.perKey(e.targetDb, keys, head),
  ])
  const diffs: Difference[] = []
  const sameType: { i: number; type: string }[] = []
  keys.forEach((key, i) => {
    const st = text(src[i][0], 'TYPE', e.source)
    const tt = text(tgt[i][0], 'TYPE', e.target)
    if (st === 'none' && tt === 'none') return
    if (st === 'none') {
      diffs.push(
        difference('missing-in-source', key, e.sourceDb, `only in target (${tt})`, { targetType: tt }),
      )
      return
    }
    if (tt === 'none') {
      diffs.push(
        difference('missing-in-target', key, e.sourceDb, `only in source (${st})`, { sourceType: st }),
      )
      return
    }
    if (st !== tt) {
      diffs.push(
        difference('type', key, e.sourceDb, `${st} in source, ${tt} in target`, {
          sourceType: st,
          targetType: tt,
        }),
      )
      return
    }
    if (s.typesOnly) return
    // As time left (ms) for the report; compared absolute when the servers give absolute times.
    const now = Date.now()
    const left = (t: number) => (s.absoluteTtl && t >= 0 ? Math.max(0, t - now) : t)
    const sRaw = int(src[i][1], ttlCmd, e.source)
    const tRaw = int(tgt[i][1], ttlCmd, e.target)
    const sTtl = left(sRaw)
    const tTtl = left(tRaw)
    const differs =
      (sRaw === -1) !== (tRaw === -1) || (sRaw >= 0 && tRaw >= 0 && Math.abs(sRaw - tRaw) > s.ttlToleranceMs)
    if (differs && sRaw !== -2 && tRaw !== -2) {
      const ms = (t: number) => (t === -1 ? 'none' : `${t} ms`)
      diffs.push(
        difference('ttl', key, e.sourceDb, `ttl ${ms(sTtl)} in source, ${ms(tTtl)} in target`, {
          sourceType: st,
          sourceTtlMs: sTtl,
          targetTtlMs: tTtl,
        }),
      )
    }
    sameType.push({ i, type: st })
  })
  if (!sameType.length) return diffs

  // Lengths: a difference on its own, and what decides between DUMP and a chunked comparison.
  const lenKeys = sameType.map((x) => keys[x.i])
  const lenCmd = (k: Buffer, j: number) => {
    const cmd = lengthCommand(sameType[j].type)
    return cmd ? [[cmd, k]] : [['EXISTS', k]]
  }
  const [sl, tl] = await Promise.all([
    e.source.perKey(e.sourceDb, lenKeys, lenCmd),
    e.target.perKey(e.targetDb, lenKeys, lenCmd),
  ])
  const dumpable: { i: number; type: string; length: number }[] = []
  const logical: { i: number; type: string; length: number }[] = []
  sameType.forEach((x, j) => {
    const what = lengthCommand(x.type) ?? 'EXISTS'
    const a = int(sl[j][0], what, e.source)
    const b = int(tl[j][0], what, e.target)
    const key = keys[x.i]
    if (a !== b && lengthCommand(x.type)) {
      const unit = x.type === 'string' ? 'bytes' : 'elements'
      diffs.push(
        difference('value', key, e.sourceDb, `${x.type} of ${a} ${unit} in source, ${b} in target`, {
          sourceType: x.type,
        }),
      )
      return
    }
    const small = x.type === 'string' ? a <= DUMP_LIMIT_BYTES : a <= s.chunkElements
    ;(small ? dumpable : logical).push({ ...x, length: a })
  })

  if (dumpable.length) {
    const dumpKeys = dumpable.map((x) => keys[x.i])
    const dump = (k: Buffer) => [['DUMP', k]]
    const [sd, td] = await Promise.all([
      e.source.perKey(e.sourceDb, dumpKeys, dump),
      e.target.perKey(e.targetDb, dumpKeys, dump),
    ])
    dumpable.forEach((x, j) => {
      const a = sd[j][0]
      const b = td[j][0]
      // Equal payloads (same encoding, same RDB version): equal values. Otherwise look closer:
      // the same value can be encoded differently (listpack vs hashtable, another version).
      if (!(Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b))) logical.push(x)
    })
  }

  // Small values whose payloads differ (a hashtable's per-process order, another encoding or RDB
  // version) are read whole, pipelined for many keys in one round per node, and compared in memory:
  // never a round trip per key. Big values, streams and module types go piece by piece.
  const batched: { x: (typeof logical)[number]; read: CommandArg[] }[] = []
  const oneByOne: typeof logical = []
  for (const x of logical) {
    const read = wholeValueRead(x.type, keys[x.i], x.length, s.chunkElements)
    if (read) batched.push({ x, read })
    else oneByOne.push(x)
  }
  const record = (x: (typeof logical)[number], mismatch: ValueMismatch | undefined) => {
    if (!mismatch) return
    diffs.push(
      difference('value', keys[x.i], e.sourceDb, mismatch.detail, {
        sourceType: x.type,
        ...(s.showValues
          ? { sourceValue: shown(mismatch.sourceValue), targetValue: shown(mismatch.targetValue) }
          : {}),
      }),
    )
  }
  for (const group of byReadBudget(batched)) {
    const groupKeys = group.map((b) => keys[b.x.i])
    const read = (_k: Buffer, j: number) => [group[j].read]
    const [sv, tv] = await Promise.all([
      e.source.perKey(e.sourceDb, groupKeys, read),
      e.target.perKey(e.targetDb, groupKeys, read),
    ])
    group.forEach(({ x }, j) => {
      const a = sv[j][0]
      const b = tv[j][0]
      // A key that changed type or vanished while read: a difference for now, rechecked by the next pass.
      const refused = a instanceof RespError ? a : b instanceof RespError ? b : undefined
      record(
        x,
        refused ? { detail: `could not compare: ${refused.message}` } : compareWholeReplies(x.type, a, b),
      )
    })
  }

  for (const x of oneByOne) {
    let mismatch: ValueMismatch | undefined
    try {
      mismatch = await compareValue(e, keys[x.i], x.type, x.length, s.chunkElements)
    } catch (err) {
      mismatch = { detail: `could not compare: ${(err as Error).message}` }
    }
    record(x, mismatch)
  }
  return diffs
}
