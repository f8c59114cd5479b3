import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Deployment } from '../../../src/connect/deployment.js'
import { ConnectError } from '../../../src/errors.js'
import { RespError } from '../../../src/wire/reply-parser.js'
import { startSandbox, type TestSandbox } from '../../helpers/sandbox.js'

/**
 * A Deployment's metadata commands go over kvtop's own connections (one per node, kept): bytes
 * come back as they are, an error reply is thrown, a connection the server dropped is opened
 * again, and a node that cannot be reached fails with exit 3 naming it.
 */
describe('Deployment commands over its own connections', () => {
  let sb: TestSandbox
  let cluster: TestSandbox
  beforeAll(async () => {
    ;[sb, cluster] = await Promise.all([startSandbox(), startSandbox({ shards: 2, replicas: 0 })])
  })
  afterAll(async () => {
    await Promise.all([sb?.down(), cluster?.down()])
  })

  it('sends binary arguments and returns bulk replies as Buffers; INFO as text', async () => {
    const d = await Deployment.connectSpec(sb.spec)
    try {
      const [node] = d.primaries
      const key = Buffer.from([0x6b, 0x00, 0x0d, 0x0a, 0xff, 0xfe])
      const value = Buffer.from([0xc3, 0x28, 0x00, 0x0d, 0x0a, 0x80])
      expect(await d.command(node, ['SET', key, value])).toBe('OK')
      expect(await d.command(node, ['GET', key])).toEqual(value)
      expect(await d.command(node, ['GET', Buffer.from('absent\x00')])).toBeNull()
      expect(await d.info(node, 'server')).toMatch(/^# Server\r\n[\s\S]*redis_version:/)
      expect(await d.info(node)).toMatch(/# Keyspace\r\ndb0:keys=1,/)
    } finally {
      await d.close()
    }
  })

  it('throws an error reply as a RespError, and the connection stays usable', async () => {
    const d = await Deployment.connectSpec(sb.spec)
    try {
      const [node] = d.primaries
      const refused = await d.command(node, ['NOSUCHCOMMAND', 'x']).catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(RespError)
      expect((refused as RespError).message).toMatch(/^ERR unknown command/)
      expect(await d.command(node, ['PING'])).toBe('PONG')
    } finally {
      await d.close()
    }
  })

  it('keeps one connection per node, opens it again after the server dropped it, and closes it', async () => {
    const d = await Deployment.connectSpec(cluster.spec)
    const admins = await Promise.all(cluster.summary.nodes.map((n) => cluster.admin(n.port)))
    const kvtopClients = async () =>
      (await Promise.all(admins.map((a) => a.client('LIST'))))
        .join('\n')
        .split('\n')
        .filter((line) => / name=kvtop /.test(line)).length
    try {
      expect(d.primaries).toHaveLength(2)
      await d.open(d.primaries)
      const ids = await Promise.all(d.primaries.map((n) => d.command(n, ['CLIENT', 'ID'])))
      expect(await Promise.all(d.primaries.map((n) => d.command(n, ['CLIENT', 'ID'])))).toEqual(ids)
      expect(await kvtopClients()).toBe(2)

      const [first] = d.primaries
      const admin = admins[cluster.summary.nodes.findIndex((n) => n.port === first.port)]
      await admin.client('KILL', 'ID', String(ids[0]))
      const again = await d.command(first, ['CLIENT', 'ID'])
      expect(again).not.toEqual(ids[0])
      expect(await d.info(first, 'keyspace')).toMatch(/^# Keyspace/)
    } finally {
      await d.close()
    }
    expect(await kvtopClients()).toBe(0)
  })

  it('fails with exit 3 naming the node when it cannot be reached', async () => {
    const other = await startSandbox()
    const d = await Deployment.connectSpec(other.spec)
    try {
      const [node] = d.primaries
      await other.down()
      const err = await d.command(node, ['INFO']).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ConnectError)
      expect((err as ConnectError).exitCode).toBe(3)
      expect((err as ConnectError).message).toContain(`127.0.0.1:${node.port}`)
    } finally {
      await d.close()
      await other.down()
    }
  })
})
