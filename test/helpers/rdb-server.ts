import { spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'

export interface FreshServer {
  client: Redis
  stop(): Promise<void>
}

/**
 * A fresh redis-server that loads `rdbPath` at start (on a unix socket: no port to collide with).
 * Throws with the server's log if it refuses the file. Always call stop().
 */
export async function serverFromRdb(rdbPath: string, extraConfig: string[] = []): Promise<FreshServer> {
  const root = process.env.KVTOP_TEST_ROOT ?? tmpdir()
  const dir = mkdtempSync(join(root, 'rdb-load-'))
  copyFileSync(rdbPath, join(dir, 'dump.rdb'))
  const sock = join(dir, 's.sock')
  const server = process.env.REDIS_SERVER ?? '/usr/bin/redis-server'
  const child = spawn(
    server,
    [
      '--port',
      '0',
      '--unixsocket',
      sock,
      '--dir',
      dir,
      '--save',
      '',
      '--appendonly',
      'no',
      '--enable-debug-command',
      'yes',
      ...extraConfig,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  let exited = false
  child.once('exit', () => (exited = true))
  const stop = async () => {
    if (!exited) {
      child.kill('SIGKILL')
      await new Promise((r) => child.once('exit', r))
    }
    rmSync(dir, { recursive: true, force: true })
  }
  for (let i = 0; i < 200 && !existsSync(sock) && !exited; i++) await new Promise((r) => setTimeout(r, 25))
  if (!existsSync(sock)) {
    await stop()
    throw new Error(`redis-server did not load ${rdbPath}:\n${log.split('\n').slice(-8).join('\n')}`)
  }
  // Until the server has loaded the file. A connection that drops while it starts (a loaded
  // machine) is opened again; whatever happens, a server that never gets ready is stopped here.
  let client: Redis | undefined
  const deadline = Date.now() + 30_000
  try {
    for (;;) {
      try {
        client ??= await openClient(sock)
        if (/loading:0/.test(await client.info('persistence'))) break
      } catch (err) {
        client?.disconnect()
        client = undefined
        if (exited || Date.now() > deadline) throw err
      }
      if (exited || Date.now() > deadline) throw new Error('not ready in 30 s')
      await new Promise((r) => setTimeout(r, 25))
    }
  } catch (err) {
    client?.disconnect()
    await stop()
    throw new Error(
      `redis-server did not load ${rdbPath} (${(err as Error).message}):\n${log.split('\n').slice(-8).join('\n')}`,
    )
  }
  const ready = client
  return {
    client: ready,
    stop: async () => {
      ready.disconnect()
      await stop()
    },
  }
}

async function openClient(sock: string): Promise<Redis> {
  const client = new Redis({ path: sock, lazyConnect: true, protocol: 2, maxRetriesPerRequest: 0 } as never)
  client.on('error', () => {})
  await client.connect()
  return client
}
