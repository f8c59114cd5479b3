import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { UsageError } from '../errors.js'
import { redact } from '../redact.js'

export const DEFAULT_LISTEN = '127.0.0.1:9121'

/** `--listen host:port` (port 0: any free port). IPv6 hosts in brackets. */
export function parseListen(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(value.trim())
  const port = m ? Number(m[2]) : NaN
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`invalid --listen '${value}': expected host:port (port 0 for any free port)`, {
      hint: `For example --listen ${DEFAULT_LISTEN} or --listen 0.0.0.0:9121.`,
    })
  return { host: m[1].replace(/^\[|\]$/g, ''), port }
}

interface MetricsEndpoint {
  contentType: string
  scrape(): Promise<string>
  /** /healthz: ok while the process serves; the body says how many deployments are polled. */
  health(): { deployments: number; polling: number }
}

/** The HTTP side: GET /metrics and /healthz, nothing else. */
export class MetricsServer {
  private readonly server: Server

  constructor(private readonly endpoint: MetricsEndpoint) {
    this.server = createServer((req, res) => void this.handle(req, res))
    // A scraper that keeps its connection open must not hold the process at shutdown.
    this.server.keepAliveTimeout = 5000
  }

  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(
          new UsageError(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {
            hint:
              err.code === 'EADDRINUSE'
                ? 'Another process uses that port: pick another with --listen.'
                : undefined,
          }),
        )
      this.server.once('error', onError)
      this.server.listen(port, host, () => {
        this.server.off('error', onError)
        const a = this.server.address() as AddressInfo
        resolve(a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`)
      })
    })
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve())
      this.server.closeAllConnections()
    })
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.reply(res, 405, 'text/plain', 'GET only\n')
    try {
      if (path === '/metrics')
        return this.reply(res, 200, this.endpoint.contentType, await this.endpoint.scrape())
      if (path === '/healthz')
        return this.reply(
          res,
          200,
          'application/json',
          JSON.stringify({ status: 'ok', ...this.endpoint.health() }) + '\n',
        )
      if (path === '/')
        return this.reply(
          res,
          200,
          'text/plain',
          'kvtop export: /metrics (Prometheus text format), /healthz\n',
        )
      return this.reply(res, 404, 'text/plain', 'not found\n')
    } catch (err) {
      return this.reply(res, 500, 'text/plain', redact(`scrape failed: ${(err as Error).message}`) + '\n')
    }
  }

  private reply(res: ServerResponse, status: number, contentType: string, body: string): void {
    res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) })
    res.end(res.req.method === 'HEAD' ? undefined : body)
  }
}
