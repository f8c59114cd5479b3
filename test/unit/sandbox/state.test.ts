import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { listStates, readState, writeState, type SandboxState } from '../../../src/sandbox/state.js'

const root = mkdtempSync(join(tmpdir(), 'kvtop-sandbox-state-'))
const env = { KVTOP_SANDBOX_DIR: root }
afterAll(() => rmSync(root, { recursive: true, force: true }))

const node = (name: string, port: number) => ({
  port,
  role: 'primary' as const,
  shard: 0,
  dir: join(root, name, `node-${port}`),
  pidFile: join(root, name, `node-${port}`, 'redis.pid'),
  logFile: join(root, name, `node-${port}`, 'redis.log'),
})

function placeFile(name: string, text: string): void {
  mkdirSync(join(root, name), { recursive: true })
  writeFileSync(join(root, name, 'sandbox.json'), text, { mode: 0o600 })
}

describe('sandbox state file', () => {
  it('is written in the shared state-file format: kind, format version, serverVersion; 0600; nothing else left', async () => {
    const state: SandboxState = {
      kind: 'kvtop-sandbox',
      version: 1,
      name: 'fresh',
      flavor: 'redis',
      shards: 0,
      replicas: 0,
      engine: 'valkey',
      serverVersion: '8.1.1',
      serverPath: '/opt/valkey-server',
      createdAt: 1_700_000_000_000,
      adminPassword: 'admin-secret',
      clientUser: 'default',
      nodes: [node('fresh', 7100)],
    }
    await writeState(state, env)
    const path = join(root, 'fresh', 'sandbox.json')
    const onDisk = JSON.parse(readFileSync(path, 'utf8'))
    expect(onDisk).toMatchObject({
      kind: 'kvtop-sandbox',
      version: 1,
      serverVersion: '8.1.1',
      engine: 'valkey',
    })
    expect(typeof onDisk.updatedAt).toBe('number')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(readdirSync(join(root, 'fresh'))).toEqual(['sandbox.json'])
    expect(readState('fresh', env)).toEqual(onDisk)
  })

  it('reads a file an earlier kvtop wrote: `version` there is the server version', () => {
    placeFile(
      'before',
      `{
  "name": "before",
  "flavor": "elasticache",
  "shards": 2,
  "replicas": 1,
  "engine": "redis",
  "version": "7.2.4",
  "serverPath": "/usr/bin/redis-server",
  "createdAt": 1764000000000,
  "adminPassword": "old-admin-secret",
  "clientUser": "default",
  "nodes": [
    { "port": 7200, "role": "primary", "shard": 0, "dir": "/x/node-7200", "pidFile": "/x/node-7200/redis.pid", "logFile": "/x/node-7200/redis.log" }
  ]
}`,
    )
    expect(readState('before', env)).toEqual({
      kind: 'kvtop-sandbox',
      version: 1,
      name: 'before',
      flavor: 'elasticache',
      shards: 2,
      replicas: 1,
      engine: 'redis',
      serverVersion: '7.2.4',
      serverPath: '/usr/bin/redis-server',
      createdAt: 1764000000000,
      adminPassword: 'old-admin-secret',
      clientUser: 'default',
      nodes: [
        {
          port: 7200,
          role: 'primary',
          shard: 0,
          dir: '/x/node-7200',
          pidFile: '/x/node-7200/redis.pid',
          logFile: '/x/node-7200/redis.log',
        },
      ],
    })
    expect(listStates(env).map((s) => [s.name, s.serverVersion])).toContainEqual(['before', '7.2.4'])
  })

  it('a file of another format version, another kind, or not JSON is no sandbox', () => {
    placeFile(
      'newer',
      JSON.stringify({ kind: 'kvtop-sandbox', version: 2, name: 'newer', serverVersion: '9', nodes: [] }),
    )
    placeFile('other', JSON.stringify({ kind: 'kvtop-migrate', version: 1, name: 'other', nodes: [] }))
    placeFile('torn', '{"name": "torn", "version": "7.2')
    for (const name of ['newer', 'other', 'torn', 'absent']) expect(readState(name, env)).toBeUndefined()
    expect(listStates(env).map((s) => s.name)).toEqual(['before', 'fresh'])
  })
})
