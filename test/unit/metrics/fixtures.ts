import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export function fixture(path: string): string {
  return readFileSync(fileURLToPath(new URL(`../../fixtures/${path}`, import.meta.url)), 'utf8')
}

export function jsonFixture<T>(path: string): T {
  return JSON.parse(fixture(path)) as T
}

/** A bulk string written in a fixture: plain text, or `{hex, utf8}` (binary bytes, then text). */
type BulkFixture = string | { hex?: string; utf8?: string }

/**
 * A reply as the poller receives it (ioredis callBuffer): bulk strings as Buffers, integers as
 * numbers, arrays as arrays. See test/fixtures/commandlog/README.md for the JSON form.
 */
export function toReply(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toReply)
  if (typeof value === 'number' || value === null) return value
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  const bulk = value as Exclude<BulkFixture, string>
  return Buffer.concat([Buffer.from(bulk.hex ?? '', 'hex'), Buffer.from(bulk.utf8 ?? '', 'utf8')])
}

export function replyFixture(path: string): { command: string[]; reply: unknown } {
  const { command, reply } = jsonFixture<{ command: string[]; reply: unknown }>(path)
  return { command, reply: toReply(reply) }
}
