/**
 * A local fake of the AWS APIs kvtop calls, speaking each service's wire protocol exactly as the
 * installed SDK clients do, so that commands are tested end to end through the real SDK:
 *   ElastiCache  awsQuery      POST /  form body Action=...&Version=2015-02-02   -> XML
 *   MemoryDB     awsJson1_1    POST /  X-Amz-Target: AmazonMemoryDB.Op            -> JSON
 *   CloudWatch   awsJson1_0    POST /  X-Amz-Target: GraniteServiceVersion20100801.Op (query-compatible errors)
 *   S3           REST-XML      path-style /bucket/key
 * Requests must carry a SigV4 Authorization header for a known access key and the right service.
 * Point the CLI at it with `fake.env()` (AWS_ENDPOINT_URL_* and static credentials).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  handleCloudWatch,
  handlePutMetricData,
  type GetMetricDataCall,
  type PutMetricDataCall,
} from './cloudwatch.js'
import { handleElastiCache } from './elasticache.js'
import { handleMemoryDB } from './memorydb.js'
import { handleS3, s3ErrorBody, s3Operation } from './s3.js'
import { ACCOUNT_ID, FakeAwsError, FakeState, type Delays } from './state.js'

export { FakeState, FakeAwsError, ACCOUNT_ID } from './state.js'
export type { GetMetricDataCall, PutMetricDataCall } from './cloudwatch.js'

export type FakeService = 'elasticache' | 'memorydb' | 'cloudwatch' | 's3'

const SIGNING_NAME: Record<FakeService, string> = {
  elasticache: 'elasticache',
  memorydb: 'memorydb',
  cloudwatch: 'monitoring',
  s3: 's3',
}

export interface RequestRecord {
  service: FakeService
  operation: string
  /** Form parameters (ElastiCache), JSON body (MemoryDB, CloudWatch) or query (S3). */
  params: Record<string, unknown>
  accessKeyId: string
  region: string
  status: number
  at: number
}

export interface Injection {
  service: FakeService
  operation: string
  code: string
  message: string
  status?: number
  /** How many calls fail (default 1). */
  times?: number
  /** Only calls whose parameters match (e.g. one snapshot name), so that parallel tests do not collide. */
  match?: (params: Record<string, unknown>) => boolean
}

export interface FakeAwsOptions {
  region?: string
  accessKeyId?: string
  secretAccessKey?: string
  /** More key pairs the fake accepts (e.g. one for an --aws-profile test). */
  extraKeys?: Record<string, string>
  delays?: Partial<Delays>
  /** Datapoints per GetMetricData page (AWS: 100,800); small values exercise NextToken. */
  maxDatapointsPerPage?: number
  /** CloudWatch publishes a datapoint this long after its period ends. */
  publishDelayMs?: number
}

export class FakeAws {
  readonly state: FakeState
  readonly requests: RequestRecord[] = []
  readonly metricCalls: GetMetricDataCall[] = []
  /** PutMetricData calls the fake accepted, in order. */
  readonly published: PutMetricDataCall[] = []
  readonly accessKeyId: string
  readonly secretAccessKey: string
  private readonly keys: Map<string, string>
  private injections: (Injection & { left: number })[] = []
  private server!: Server
  url = ''
  options: Required<Pick<FakeAwsOptions, 'maxDatapointsPerPage' | 'publishDelayMs'>>

  constructor(opts: FakeAwsOptions = {}) {
    this.accessKeyId = opts.accessKeyId ?? 'AKIAFAKEKVTOPTEST001'
    this.secretAccessKey = opts.secretAccessKey ?? 'fake/secret/KVTOPtest+0123456789abcdefghij'
    this.keys = new Map([[this.accessKeyId, this.secretAccessKey], ...Object.entries(opts.extraKeys ?? {})])
    this.state = new FakeState(opts.region ?? 'us-east-1', {
      snapshot: 150,
      export: 150,
      modify: 150,
      create: 150,
      ...opts.delays,
    })
    this.options = {
      maxDatapointsPerPage: opts.maxDatapointsPerPage ?? 100_800,
      publishDelayMs: opts.publishDelayMs ?? 0,
    }
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        res.statusCode = 500
        res.end(String(err?.stack ?? err))
      })
    })
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve))
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
    return this
  }

  async close(): Promise<void> {
    if (!this.server?.listening) return
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  /** Environment for a CLI run against the fake: endpoints, static credentials, no other AWS config. */
  env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
    return {
      AWS_ENDPOINT_URL_ELASTICACHE: this.url,
      AWS_ENDPOINT_URL_MEMORYDB: this.url,
      AWS_ENDPOINT_URL_CLOUDWATCH: this.url,
      AWS_ENDPOINT_URL_S3: this.url,
      AWS_ACCESS_KEY_ID: this.accessKeyId,
      AWS_SECRET_ACCESS_KEY: this.secretAccessKey,
      AWS_SESSION_TOKEN: '',
      AWS_REGION: this.state.region,
      AWS_DEFAULT_REGION: '',
      AWS_PROFILE: '',
      AWS_CONFIG_FILE: '/nonexistent/kvtop-test/aws-config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/kvtop-test/aws-credentials',
      AWS_EC2_METADATA_DISABLED: 'true',
      KVTOP_AWS_RETRY_BASE_MS: '20',
      ...extra,
    }
  }

  /** Config for an SDK client in the test process (no environment needed). */
  clientConfig(): {
    endpoint: string
    region: string
    credentials: { accessKeyId: string; secretAccessKey: string }
  } {
    return {
      endpoint: this.url,
      region: this.state.region,
      credentials: { accessKeyId: this.accessKeyId, secretAccessKey: this.secretAccessKey },
    }
  }

  /** The next `times` calls of an operation fail with this error. */
  inject(injection: Injection): void {
    this.injections.push({ ...injection, left: injection.times ?? 1 })
  }

  /** The next `times` calls of an operation are throttled, as each service words it. */
  throttle(service: FakeService, operation: string, times = 1, match?: Injection['match']): void {
    const byService: Record<FakeService, { code: string; status: number }> = {
      elasticache: { code: 'Throttling', status: 400 },
      memorydb: { code: 'ThrottlingException', status: 400 },
      cloudwatch: { code: 'Throttling', status: 400 },
      s3: { code: 'SlowDown', status: 503 },
    }
    this.inject({
      service,
      operation,
      ...byService[service],
      message: 'Rate exceeded',
      times,
      ...(match ? { match } : {}),
    })
  }

  /** Every call of an operation is denied, as IAM words it. */
  deny(service: FakeService, operation: string, times = 1_000_000): void {
    const code = service === 'memorydb' ? 'AccessDeniedException' : 'AccessDenied'
    this.inject({
      service,
      operation,
      code,
      status: 403,
      times,
      message: `User: arn:aws:iam::${ACCOUNT_ID}:user/kvtop-test is not authorized to perform: ${SIGNING_NAME[service] === 'monitoring' ? 'cloudwatch' : SIGNING_NAME[service]}:${operation} because no identity-based policy allows the ${SIGNING_NAME[service]}:${operation} action`,
    })
  }

  calls(service: FakeService, operation?: string): RequestRecord[] {
    return this.requests.filter((r) => r.service === service && (!operation || r.operation === operation))
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const c of req) chunks.push(c as Buffer)
    const raw = Buffer.concat(chunks).toString('utf8')
    const url = new URL(req.url ?? '/', 'http://fake')
    const target = String(req.headers['x-amz-target'] ?? '')
    const contentType = String(req.headers['content-type'] ?? '')

    let service: FakeService
    let operation: string
    let params: Record<string, unknown>
    if (target.startsWith('AmazonMemoryDB.')) {
      service = 'memorydb'
      operation = target.slice('AmazonMemoryDB.'.length)
      params = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
    } else if (target.startsWith('GraniteServiceVersion20100801.')) {
      service = 'cloudwatch'
      operation = target.slice('GraniteServiceVersion20100801.'.length)
      params = raw ? (JSON.parse(raw) as Record<string, unknown>) : {}
    } else if (req.method === 'POST' && contentType.startsWith('application/x-www-form-urlencoded')) {
      service = 'elasticache'
      params = Object.fromEntries(new URLSearchParams(raw))
      operation = String(params.Action ?? '')
    } else {
      service = 's3'
      operation = s3Operation(req.method ?? 'GET', url.pathname, url.searchParams)
      params = Object.fromEntries(url.searchParams)
    }

    const auth = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(
      String(req.headers.authorization ?? ''),
    )
    const record: RequestRecord = {
      service,
      operation,
      params,
      accessKeyId: auth?.[1] ?? '',
      region: auth?.[2] ?? '',
      status: 200,
      at: Date.now(),
    }
    this.requests.push(record)
    const send = (status: number, headers: Record<string, string>, body?: string) => {
      record.status = status
      res.writeHead(status, { 'x-amzn-requestid': crypto.randomUUID(), ...headers })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    try {
      if (!auth)
        throw new FakeAwsError(
          service === 's3' ? 'AccessDenied' : 'MissingAuthenticationToken',
          'Request is missing Authentication Token',
          403,
        )
      if (!this.keys.has(auth[1])) {
        const code =
          service === 'memorydb' || service === 'cloudwatch'
            ? 'UnrecognizedClientException'
            : service === 's3'
              ? 'InvalidAccessKeyId'
              : 'InvalidClientTokenId'
        throw new FakeAwsError(code, 'The security token included in the request is invalid.', 403)
      }
      if (auth[3] !== SIGNING_NAME[service]) {
        throw new FakeAwsError(
          'InvalidSignatureException',
          `Credential should be scoped to correct service: '${SIGNING_NAME[service]}'.`,
          403,
        )
      }
      if (service === 'elasticache' && params.Version !== '2015-02-02') {
        throw new FakeAwsError('InvalidParameterValue', `Unsupported API version ${String(params.Version)}`)
      }
      const injected = this.injections.find(
        (i) =>
          i.service === service && i.operation === operation && i.left > 0 && (!i.match || i.match(params)),
      )
      if (injected) {
        injected.left--
        throw new FakeAwsError(injected.code, injected.message, injected.status ?? 400)
      }
      this.state.tick()
      switch (service) {
        case 'elasticache':
          return send(
            200,
            { 'content-type': 'text/xml' },
            handleElastiCache(this.state, operation, params as Record<string, string>),
          )
        case 'memorydb':
          return send(
            200,
            { 'content-type': 'application/x-amz-json-1.1' },
            JSON.stringify(handleMemoryDB(this.state, operation, params)),
          )
        case 'cloudwatch':
          return send(
            200,
            { 'content-type': 'application/x-amz-json-1.0' },
            JSON.stringify(
              operation === 'PutMetricData'
                ? handlePutMetricData(params, Buffer.byteLength(raw), this.published)
                : handleCloudWatch(this.state, operation, params, this.metricCalls, this.options),
            ),
          )
        case 's3': {
          const out = handleS3(this.state, operation, req.method ?? 'GET', url.pathname, url.searchParams)
          return send(out.status, { 'content-type': 'application/xml', ...out.headers }, out.body)
        }
      }
    } catch (err) {
      if (!(err instanceof FakeAwsError)) throw err
      const status = err.status
      switch (service) {
        case 'elasticache':
          return send(
            status,
            { 'content-type': 'text/xml' },
            `<?xml version="1.0"?>\n<ErrorResponse xmlns="http://elasticache.amazonaws.com/doc/2015-02-02/"><Error><Type>${err.type}</Type>` +
              `<Code>${err.code}</Code><Message>${escape(err.message)}</Message></Error><RequestId>${crypto.randomUUID()}</RequestId></ErrorResponse>`,
          )
        case 'memorydb':
          return send(
            status,
            { 'content-type': 'application/x-amz-json-1.1' },
            JSON.stringify({ __type: err.code, message: err.message }),
          )
        case 'cloudwatch':
          // Query-compatible awsJson1_0: the query error code travels in x-amzn-query-error.
          return send(
            status,
            { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': `${err.code};${err.type}` },
            JSON.stringify({ __type: `com.amazonaws.cloudwatch#${err.code}`, message: err.message }),
          )
        case 's3':
          return send(
            status,
            { 'content-type': 'application/xml' },
            s3ErrorBody(err.code, err.message, url.pathname),
          )
      }
    }
  }
}

function escape(text: string): string {
  return text.replace(/[<>&]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;' })[c]!)
}

/** Start a fake on a free loopback port. Close it in afterAll / finally (close() is idempotent). */
export async function startFakeAws(opts: FakeAwsOptions = {}): Promise<FakeAws> {
  return new FakeAws(opts).start()
}
