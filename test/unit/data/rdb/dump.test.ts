import { describe, expect, it } from 'vitest'
import { Crc64 } from '../../../../src/data/crc64.js'
import { buildDumpPayload, describeDumpPayload, dumpPayloadCrcOk } from '../../../../src/data/rdb/dump.js'
import { restoreLabel } from '../../../../src/data/rdb/versions.js'
import { listpack, str } from '../../../helpers/rdb-craft.js'

describe('DUMP payloads and versions', () => {
  it('describes a payload and checks its CRC', () => {
    const p = buildDumpPayload(16, str(listpack(['f', 'v', 'g', 'w'])), 10)
    expect(describeDumpPayload(p)).toMatchObject({
      rdbType: 16,
      version: 10,
      elements: 2,
      crcOk: true,
      type: { kind: 'hash', encoding: 'listpack' },
    })
    const bad = Buffer.from(p)
    bad[bad.length - 1] ^= 1
    expect(dumpPayloadCrcOk(bad)).toBe(false)
    expect(new Crc64().update(p, 0, p.length - 8).matchesLE(p, p.length - 8)).toBe(true)
  })

  it('labels values for older targets only when the target knows their type', () => {
    expect(restoreLabel(0, 11, 'oss', 10)).toBe(10) // a string from 7.2 into 7.0
    expect(restoreLabel(20, 11, 'oss', 10)).toBeUndefined() // a set listpack: 7.2+
    expect(restoreLabel(16, 10, 'oss', 11)).toBe(10) // older file, newer target: as is
    expect(restoreLabel(0, 12, 'redis-ce', 80)).toBe(11) // Valkey refuses 12..79
    expect(restoreLabel(24, 12, 'redis-ce', 80)).toBeUndefined() // Redis CE hash TTLs mean something else in Valkey
    expect(restoreLabel(22, 80, 'valkey', 12)).toBeUndefined()
    expect(restoreLabel(22, 80, 'valkey', 80)).toBe(80)
  })
})
