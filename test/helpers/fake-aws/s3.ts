/**
 * The S3 operations kvtop uses, REST-XML with path-style addressing (the client forces path style
 * when AWS_ENDPOINT_URL_S3 is set), plus the export grant rules ElastiCache and MemoryDB apply.
 */
import { FakeAwsError, OWNER_CANONICAL_ID, type FakeState, type S3Bucket } from './state.js'
import { escapeXml } from './xml.js'

const S3_XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/'
const ELASTICACHE_ID = '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353'
const DEFAULT_REGIONS = [
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'eu-west-1',
  'eu-central-1',
  'ap-southeast-1',
]

export interface S3Response {
  status: number
  headers?: Record<string, string>
  body?: string
}

function bucketOrThrow(state: FakeState, name: string): S3Bucket {
  const b = state.buckets.get(name)
  if (!b) throw new FakeAwsError('NoSuchBucket', 'The specified bucket does not exist', 404)
  return b
}

function keys(prefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}.rdb`)
}

function policyAllows(b: S3Bucket, principal: string): boolean {
  if (!b.policy) return false
  const doc = JSON.parse(b.policy) as {
    Statement?: { Effect?: string; Principal?: { Service?: string | string[] }; Action?: string | string[] }[]
  }
  return (doc.Statement ?? []).some((st) => {
    const services = [st.Principal?.Service ?? []].flat()
    const actions = [st.Action ?? []].flat()
    return (
      st.Effect === 'Allow' &&
      services.includes(principal) &&
      actions.some((a) => a === 's3:*' || a === 's3:PutObject')
    )
  })
}

/** What the service checks at CopySnapshot with TargetBucket (messages as AWS words them). */
export function exportAllowed(
  state: FakeState,
  service: 'elasticache' | 'memorydb',
  bucketName: string,
  prefix: string,
  shards: number,
): void {
  const who = service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'
  const code = service === 'elasticache' ? 'InvalidParameterValue' : 'InvalidParameterValueException'
  const b = state.buckets.get(bucketName)
  if (!b) throw new FakeAwsError(code, `The S3 bucket ${bucketName} does not exist.`)
  if (b.region !== state.region)
    throw new FakeAwsError(code, `The S3 bucket ${bucketName} is outside of the region.`)
  if (service === 'elasticache' && DEFAULT_REGIONS.includes(state.region)) {
    for (const perm of ['READ', 'WRITE', 'READ_ACP']) {
      const ok = b.grants.some(
        (g) => g.id === ELASTICACHE_ID && (g.permission === perm || g.permission === 'FULL_CONTROL'),
      )
      if (!ok)
        throw new FakeAwsError(
          code,
          `${who} has not been granted ${perm} permissions ${bucketName} on the S3 Bucket.`,
        )
    }
  } else {
    const principal = `${state.region}.${service === 'elasticache' ? 'elasticache' : 'memorydb'}-snapshot.amazonaws.com`
    if (!policyAllows(b, principal))
      throw new FakeAwsError(
        code,
        `${who} has not been granted WRITE permissions ${bucketName} on the S3 Bucket.`,
      )
  }
  for (const key of keys(prefix, shards)) {
    if (b.objects.has(key))
      throw new FakeAwsError(code, `The S3 bucket ${bucketName} already contains an object with key ${key}.`)
  }
}

export function writeExport(state: FakeState, bucketName: string, prefix: string, shards: number): void {
  const b = bucketOrThrow(state, bucketName)
  for (const key of keys(prefix, shards))
    b.objects.set(key, { size: 5 * 1024 * 1024, lastModified: new Date() })
}

function xmlDoc(root: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${S3_XMLNS}">${inner}</${root}>`
}

export function s3ErrorBody(code: string, message: string, resource: string): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(code)}</Code><Message>${escapeXml(message)}</Message>` +
    `<Resource>${escapeXml(resource)}</Resource><RequestId>${crypto.randomUUID()}</RequestId></Error>`
  )
}

/** The operation a request is, for logging and error injection. */
export function s3Operation(method: string, path: string, query: URLSearchParams): string {
  const [, bucket, ...rest] = path.split('/')
  const key = rest.join('/')
  if (!bucket) return 'ListBuckets'
  if (!key) {
    if (query.has('location')) return 'GetBucketLocation'
    if (query.has('acl')) return method === 'PUT' ? 'PutBucketAcl' : 'GetBucketAcl'
    if (query.has('policy')) return method === 'PUT' ? 'PutBucketPolicy' : 'GetBucketPolicy'
    if (query.has('ownershipControls')) return 'GetBucketOwnershipControls'
    if (method === 'HEAD') return 'HeadBucket'
    return 'ListObjectsV2'
  }
  if (method === 'HEAD') return 'HeadObject'
  if (method === 'PUT') return 'PutObject'
  if (method === 'DELETE') return 'DeleteObject'
  return 'GetObject'
}

export function handleS3(
  state: FakeState,
  operation: string,
  method: string,
  path: string,
  query: URLSearchParams,
): S3Response {
  const [, bucketName, ...rest] = path.split('/').map((p) => decodeURIComponent(p))
  const key = rest.join('/')
  switch (operation) {
    case 'GetBucketLocation': {
      const b = bucketOrThrow(state, bucketName)
      return {
        status: 200,
        body: xmlDoc('LocationConstraint', b.region === 'us-east-1' ? '' : escapeXml(b.region)),
      }
    }
    case 'GetBucketAcl': {
      const b = bucketOrThrow(state, bucketName)
      const grants = b.grants
        .map(
          (g) =>
            `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="${g.id ? 'CanonicalUser' : 'Group'}">` +
            (g.id ? `<ID>${g.id}</ID>` : `<URI>${escapeXml(g.uri ?? '')}</URI>`) +
            `</Grantee><Permission>${g.permission}</Permission></Grant>`,
        )
        .join('')
      return {
        status: 200,
        body: xmlDoc(
          'AccessControlPolicy',
          `<Owner><ID>${OWNER_CANONICAL_ID}</ID></Owner><AccessControlList>${grants}</AccessControlList>`,
        ),
      }
    }
    case 'GetBucketPolicy': {
      const b = bucketOrThrow(state, bucketName)
      if (!b.policy) throw new FakeAwsError('NoSuchBucketPolicy', 'The bucket policy does not exist', 404)
      return { status: 200, headers: { 'content-type': 'application/json' }, body: b.policy }
    }
    case 'GetBucketOwnershipControls': {
      const b = bucketOrThrow(state, bucketName)
      return {
        status: 200,
        body: xmlDoc(
          'OwnershipControls',
          `<Rule><ObjectOwnership>${b.aclsDisabled ? 'BucketOwnerEnforced' : 'BucketOwnerPreferred'}</ObjectOwnership></Rule>`,
        ),
      }
    }
    case 'HeadBucket':
      bucketOrThrow(state, bucketName)
      return { status: 200, headers: { 'x-amz-bucket-region': state.buckets.get(bucketName)!.region } }
    case 'HeadObject': {
      const b = state.buckets.get(bucketName)
      const o = b?.objects.get(key)
      // HEAD answers carry no body: the status is the error.
      if (!o) return { status: 404 }
      return {
        status: 200,
        headers: {
          'content-length': String(o.size),
          'last-modified': o.lastModified.toUTCString(),
          etag: '"d41d8cd98f00b204e9800998ecf8427e"',
        },
      }
    }
    case 'ListObjectsV2': {
      const b = bucketOrThrow(state, bucketName)
      const prefix = query.get('prefix') ?? ''
      const items = [...b.objects].filter(([k]) => k.startsWith(prefix))
      return {
        status: 200,
        body: xmlDoc(
          'ListBucketResult',
          `<Name>${escapeXml(bucketName)}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${items.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>` +
            items
              .map(
                ([k, o]) =>
                  `<Contents><Key>${escapeXml(k)}</Key><LastModified>${o.lastModified.toISOString()}</LastModified><Size>${o.size}</Size></Contents>`,
              )
              .join(''),
        ),
      }
    }
    default:
      void method
      throw new FakeAwsError('NotImplemented', `The fake does not implement ${operation}`, 501)
  }
}
