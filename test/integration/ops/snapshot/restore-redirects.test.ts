import { mkdtempSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cluster, Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectTarget } from '../../../../src/connect/target.js'
import type { Topology } from '../../../../src/connect/topology.js'
import { restoreSnapshot } from '../../../../src/ops/snapshot/restore.js'
import { keySlot } from '../../../../src/wire/routed-pipeline.js'
import { rdbFile, str } from '../../../helpers/rdb-craft.js'
import { adminClusterClient, startSandbox, type TestSandbox } from '../../../helpers/sandbox.js'

/**
 * snapshot restore into a cluster whose slot map changed under it, with replies read by counting:
 * MOVED (a stale map: every slot on one primary) and ASK (a slot being migrated, its keys going to
 * the importing node) are followed, every key counted once as restored, and every value arrives
 * byte for byte where the cluster serves it.
 */
describe('snapshot restore: MOVED and ASK on a cluster target', () => {
  let cluster: TestSandbox
  let client: Cluster
  const dir = mkdtempSync(join(process.env.KVTOP_TEST_ROOT!, 'restore-redirects-'))
  const file = join(dir, 'keys.rdb')
  /** Invalid UTF-8, CR LF and NUL in every key and value. */
  const BIN = Buffer.from([0xff, 0x0d, 0x0a, 0x00])
  const spread = Array.from({ length: 300 }, (_, i) => Buffer.concat([Buffer.from(`k:${i}:`), BIN]))
  const asked = Array.from({ length: 50 }, (_, i) => Buffer.concat([Buffer.from(`{ask}:${i}:`), BIN]))
  const valueOf = (key: Buffer) => Buffer.concat([BIN, key])

  beforeAll(async () => {
    cluster = await startSandbox({ shards: 3, replicas: 0 })
    client = adminClusterClient(cluster)
    const entries = [...spread, ...asked].map((key) => ({ type: 0, key, value: str(valueOf(key)) }))
    writeFileSync(file, rdbFile(9, [{ db: 0, entries }]))
  })
  afterAll(async () => {
    client?.disconnect()
    await cluster?.down()
  })

  it('a stale slot map and a slot being migrated: every key restored once, on the node that serves it', async () => {
    const target = await connectTarget({ url: cluster.url }, { probe: true })
    const primaries = target.primaries
    const slot = keySlot(asked[0])
    const owner = primaries.find((p) => p.slots.some(([a, b]) => slot >= a && slot <= b))!
    const importer = primaries.find((p) => p !== owner)!
    const [ownerAdmin, importerAdmin]: Redis[] = await Promise.all([
      cluster.admin(owner.port),
      cluster.admin(importer.port),
    ])
    await importerAdmin.call('CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', owner.id)
    await ownerAdmin.call('CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', importer.id)
    // The map kvtop writes by says the first primary serves every slot: the others answer MOVED.
    const first = primaries[0]
    const stale: Topology = { ...target.topology, nodes: [{ ...first, slots: [[0, 16383]] }] }
    const report = await restoreSnapshot({ ...target, topology: stale }, file)
    expect(report).toMatchObject({ keys: 350, restored: 350, failed: 0, existing: 0 })
    // The migrating slot's keys went to the importing node (ASK), none stayed on its owner.
    expect(await importerAdmin.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe(50)
    expect(await ownerAdmin.call('CLUSTER', 'COUNTKEYSINSLOT', String(slot))).toBe(0)
    for (const key of asked) {
      await importerAdmin.call('ASKING')
      expect(await importerAdmin.getBuffer(key)).toEqual(valueOf(key))
    }
    for (const key of spread) expect(await client.getBuffer(key)).toEqual(valueOf(key))
  })
})
