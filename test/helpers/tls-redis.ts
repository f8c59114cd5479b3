import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from './ports.js'
import { EMPTY_SHA256, referencePresign, rfc3986 } from './sigv4-reference.js'

/** A self-signed certificate for 127.0.0.1 (key.pem, cert.pem in `dir`); returns the cert path. */
export function makeLoopbackCert(dir: string): string {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
  return join(dir, 'cert.pem')
}

export interface TlsRedis {
  plainPort: number
  tlsPort: number
  /** The default user over the plain port (no password until a test sets one). */
  admin: Redis
  stop(): Promise<void>
}

/**
 * A redis-server with a plain port (for the test's own admin connection) and a TLS port (for the
 * CLI), using the certificate made by makeLoopbackCert in `dir`; its data directory is `dir/name`.
 */
export async function startTlsRedis(dir: string, name: string): Promise<TlsRedis> {
  const plainPort = await freePort()
  const tlsPort = await freePort()
  execFileSync('mkdir', ['-p', join(dir, name)])
  const child: ChildProcess = spawn(
    'redis-server',
    [
      '--bind',
      '127.0.0.1',
      '--port',
      String(plainPort),
      '--tls-port',
      String(tlsPort),
      '--tls-cert-file',
      join(dir, 'cert.pem'),
      '--tls-key-file',
      join(dir, 'key.pem'),
      '--tls-ca-cert-file',
      join(dir, 'cert.pem'),
      '--tls-auth-clients',
      'no',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      join(dir, name),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const kill = () => child.kill('SIGKILL')
  process.once('exit', kill)
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('redis-server did not start')), 15_000)
      child.stdout!.on('data', (d: Buffer) => {
        if (d.toString().includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child.once('exit', (code) => reject(new Error(`redis-server exited (${code})`)))
    })
  } catch (err) {
    kill()
    process.removeListener('exit', kill)
    throw err
  }
  const admin = new Redis({ host: '127.0.0.1', port: plainPort, lazyConnect: true })
  await admin.connect()
  return {
    plainPort,
    tlsPort,
    admin,
    async stop() {
      admin.disconnect()
      kill()
      process.removeListener('exit', kill)
    },
  }
}

/**
 * Make an ACL user accept exactly the IAM tokens an independent SigV4 signer makes for `resource`
 * over the next `seconds` (one password per signing second): the CLI gets in only with a token
 * right to the byte.
 */
export async function acceptIamTokens(
  admin: Redis,
  opts: {
    user: string
    resource: string
    service: 'elasticache' | 'memorydb'
    region: string
    accessKeyId: string
    secretAccessKey: string
    seconds: number
  },
): Promise<void> {
  const now = Math.floor(Date.now() / 1000)
  const passwords: string[] = []
  for (let t = now - 5; t <= now + opts.seconds; t++) {
    const date = new Date(t * 1000)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d{3}/, '')
    const ref = referencePresign({
      host: opts.resource,
      path: '/',
      query: { Action: 'connect', User: opts.user },
      service: opts.service,
      region: opts.region,
      accessKeyId: opts.accessKeyId,
      secretAccessKey: opts.secretAccessKey,
      date,
      expires: 900,
      payloadHash: EMPTY_SHA256,
    })
    const q = { ...ref.query, 'X-Amz-Signature': ref.signature }
    passwords.push(
      `>${opts.resource}/?` +
        Object.entries(q)
          .map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`)
          .join('&'),
    )
  }
  await admin.call('ACL', 'SETUSER', opts.user, 'on', 'resetpass', ...passwords, '~*', '&*', '+@all')
}
