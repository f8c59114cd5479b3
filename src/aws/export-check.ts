/**
 * What ElastiCache and MemoryDB need on an S3 bucket before CopySnapshot can export to it, and a
 * check of a real bucket against it. From the services' "Exporting a backup / snapshot" guides:
 * - ElastiCache, Regions enabled by default: the bucket ACL grants ElastiCache's canonical user
 *   List objects (READ), Write objects (WRITE) and Read bucket permissions (READ_ACP);
 * - ElastiCache, opt-in Regions (launched after 2019-03-20): the bucket policy allows the service
 *   principal <region>.elasticache-snapshot.amazonaws.com the actions below;
 * - MemoryDB: the bucket policy allows <region>.memorydb-snapshot.amazonaws.com the same actions.
 * The bucket must be in the snapshot's Region, and it must not already hold the keys.
 */
import { AwsError } from '../errors.js'
import { awsCall, type AwsClients } from './clients.js'
import { isAccessDenied, isNotFound } from './errors.js'
import type { AwsService } from './types.js'

export const ELASTICACHE_CANONICAL_IDS = {
  /** Every Region enabled by default, except the two below. */
  default: '540804c33a284a299d2547575ce1010f2312ef3da9b3a053c8bc45bf233e4353',
  govcloud: '40fa568277ad703bd160f66ae4f83fc9dfdfd06c2f1b5060ca22442ac3ef8be6',
  china: 'b14d6a125bdf69854ed8ef2e71d8a20b7c490f252229b806e514966e490b8d83',
} as const

/** Regions introduced before 2019-03-20: enabled by default, where ElastiCache uses the ACL grant. */
export const DEFAULT_REGIONS = new Set([
  'us-east-1',
  'us-east-2',
  'us-west-1',
  'us-west-2',
  'ca-central-1',
  'eu-central-1',
  'eu-west-1',
  'eu-west-2',
  'eu-west-3',
  'eu-north-1',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-northeast-3',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-south-1',
  'sa-east-1',
  'us-gov-west-1',
  'us-gov-east-1',
  'cn-north-1',
  'cn-northwest-1',
])

export const POLICY_ACTIONS = [
  's3:PutObject',
  's3:GetObject',
  's3:ListBucket',
  's3:GetBucketAcl',
  's3:ListMultipartUploadParts',
  's3:ListBucketMultipartUploads',
]

export const ACL_PERMISSIONS = ['READ', 'WRITE', 'READ_ACP'] as const
export type AclPermission = (typeof ACL_PERMISSIONS)[number]
const ACL_LABEL: Record<AclPermission, string> = {
  READ: 'List objects (READ)',
  WRITE: 'Write objects (WRITE)',
  READ_ACP: 'Read bucket permissions (READ_ACP)',
}

export type ExportGrant =
  { kind: 'acl'; canonicalId: string } | { kind: 'policy'; principal: string; actions: string[] }

export function elasticacheCanonicalId(region: string): string {
  if (region.startsWith('us-gov-')) return ELASTICACHE_CANONICAL_IDS.govcloud
  if (region.startsWith('cn-')) return ELASTICACHE_CANONICAL_IDS.china
  return ELASTICACHE_CANONICAL_IDS.default
}

/** The grant the service needs on the bucket in this Region. */
export function requiredGrant(service: AwsService, region: string): ExportGrant {
  if (service === 'elasticache' && DEFAULT_REGIONS.has(region)) {
    return { kind: 'acl', canonicalId: elasticacheCanonicalId(region) }
  }
  const principal = `${region}.${service === 'elasticache' ? 'elasticache-snapshot' : 'memorydb-snapshot'}.amazonaws.com`
  return { kind: 'policy', principal, actions: POLICY_ACTIONS }
}

export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn'
  if (region.startsWith('us-gov-')) return 'aws-us-gov'
  return 'aws'
}

/** A bucket policy statement granting what the service needs (for the explanation). */
export function policyStatement(bucket: string, principal: string, region: string): Record<string, unknown> {
  const arn = `arn:${partitionOf(region)}:s3:::${bucket}`
  return {
    Sid: 'AllowSnapshotExport',
    Effect: 'Allow',
    Principal: { Service: principal },
    Action: POLICY_ACTIONS,
    Resource: [arn, `${arn}/*`],
  }
}

export interface AclGrant {
  Grantee?: { ID?: string; Type?: string; URI?: string }
  Permission?: string
}

/** The ACL permissions the canonical user lacks (FULL_CONTROL covers all). */
export function missingAclPermissions(grants: AclGrant[], canonicalId: string): AclPermission[] {
  const held = new Set(grants.filter((g) => g.Grantee?.ID === canonicalId).map((g) => g.Permission))
  if (held.has('FULL_CONTROL')) return []
  return ACL_PERMISSIONS.filter((p) => !held.has(p))
}

function asArray(v: unknown): string[] {
  if (v === undefined || v === null) return []
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string')
}

function wildcard(pattern: string, value: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  )
  return re.test(value)
}

/**
 * The actions the policy does not Allow the principal on the bucket and its objects. Conditions
 * are not evaluated (a condition can still deny), and explicit Deny statements are not weighed.
 */
export function missingPolicyActions(
  policyJson: string | undefined,
  principal: string,
  bucket: string,
  actions: string[],
): string[] {
  if (!policyJson) return [...actions]
  let doc: { Statement?: unknown }
  try {
    doc = JSON.parse(policyJson) as { Statement?: unknown }
  } catch {
    return [...actions]
  }
  const statements = (Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement]).filter(Boolean) as {
    Effect?: string
    Principal?: unknown
    Action?: unknown
    Resource?: unknown
  }[]
  const granted = new Set<string>()
  for (const st of statements) {
    if (st.Effect !== 'Allow') continue
    const p = st.Principal
    const principals =
      p === '*'
        ? ['*']
        : asArray((p as { Service?: unknown; AWS?: unknown })?.Service).concat(
            asArray((p as { AWS?: unknown })?.AWS).filter((a) => a === '*'),
          )
    if (!principals.some((x) => x === '*' || x.toLowerCase() === principal.toLowerCase())) continue
    const resources = asArray(st.Resource)
    for (const action of actions) {
      if (!asArray(st.Action).some((a) => wildcard(a, action))) continue
      // Bucket-level actions apply to the bucket ARN, object-level ones to bucket/*.
      const objectLevel =
        action === 's3:PutObject' || action === 's3:GetObject' || action === 's3:ListMultipartUploadParts'
      const target = objectLevel ? `arn:aws:s3:::${bucket}/snapshot-0001.rdb` : `arn:aws:s3:::${bucket}`
      if (resources.some((r) => wildcard(r.replace(/^arn:aws[a-z-]*:/, 'arn:aws:'), target)))
        granted.add(action)
    }
  }
  return actions.filter((a) => !granted.has(a))
}

export interface BucketCheck {
  bucket: string
  region?: string
  grant: ExportGrant
  /** verified: the grant is in place; missing: it is not (the export would fail); unknown: could not read it. */
  permission: 'verified' | 'missing' | 'unknown'
  /** Keys already in the bucket (ElastiCache refuses to overwrite). */
  existingKeys: string[]
  notes: string[]
}

export interface CheckBucketOptions {
  service: AwsService
  /** The snapshot's Region: the bucket must be there too. */
  region: string
  bucket: string
  keys: string[]
}

/** The explanation of the grant, with the commands that set it up. */
export function explainGrant(service: AwsService, bucket: string, region: string): string {
  const grant = requiredGrant(service, region)
  const who = service === 'elasticache' ? 'ElastiCache' : 'MemoryDB'
  if (grant.kind === 'acl') {
    const id = grant.canonicalId
    return [
      `${who} writes the export with its own identity; in ${region} it is granted through the bucket ACL:`,
      `  grantee canonical ID ${id}`,
      `  with List objects (READ), Write objects (WRITE) and Read bucket permissions (READ_ACP).`,
      `With the AWS CLI (put-bucket-acl replaces the whole ACL: keep your own FULL_CONTROL in it):`,
      `  aws s3api put-bucket-acl --bucket ${bucket} --grant-full-control id=<your canonical ID> \\`,
      `    --grant-read id=${id} --grant-write id=${id} --grant-read-acp id=${id}`,
      `If the bucket has ACLs disabled (Object Ownership "bucket owner enforced"), enable them first:`,
      `  aws s3api put-bucket-ownership-controls --bucket ${bucket} --ownership-controls 'Rules=[{ObjectOwnership=BucketOwnerPreferred}]'`,
      `The caller also needs s3:GetBucketLocation and s3:ListAllMyBuckets on "*".`,
    ].join('\n')
  }
  return [
    `${who} writes the export with its own identity; in ${region} it is granted through the bucket policy,`,
    `to the service principal ${grant.principal}. Add this statement to the policy of ${bucket}:`,
    JSON.stringify(policyStatement(bucket, grant.principal, region), null, 2)
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n'),
    `The caller also needs s3:GetBucketLocation and s3:ListAllMyBuckets on "*".`,
  ].join('\n')
}

/** What each step of the bucket check reads: the S3 client, the request, notes for what it could not verify. */
interface BucketCheckRun {
  clients: AwsClients
  opts: CheckBucketOptions
  /** ElastiCache or MemoryDB: who writes the export. */
  who: string
  notes: string[]
}

const s3Call = (bucket: string, operation: string) => ({
  service: 'S3' as const,
  operation,
  resource: `bucket '${bucket}'`,
})

/**
 * Check the bucket before CopySnapshot: it exists, it is in the snapshot's Region, the service
 * has the grant it needs, and the keys are free. Throws an AwsError (exit 4) when the export
 * would certainly fail; returns notes for what could not be verified.
 */
export async function checkExportBucket(clients: AwsClients, opts: CheckBucketOptions): Promise<BucketCheck> {
  const run: BucketCheckRun = {
    clients,
    opts,
    who: opts.service === 'elasticache' ? 'ElastiCache' : 'MemoryDB',
    notes: [],
  }
  const grant = requiredGrant(opts.service, opts.region)
  const bucketRegion = await checkBucketRegion(run)
  const permission =
    grant.kind === 'acl' ? await checkAclGrant(run, grant.canonicalId) : await checkPolicyGrant(run, grant)
  const existingKeys = await keysAlreadyThere(run)
  if (existingKeys.length) {
    throw new AwsError(`S3 bucket '${opts.bucket}' already holds ${existingKeys.join(', ')}`, {
      code: 'aws-key-exists',
      hint: `${run.who} does not overwrite objects: choose another --prefix, or delete the objects first.`,
    })
  }
  return { bucket: opts.bucket, region: bucketRegion, grant, permission, existingKeys, notes: run.notes }
}

/** The bucket exists and is in the snapshot's Region (the only one the service exports to). */
async function checkBucketRegion({ clients, opts, who }: BucketCheckRun): Promise<string> {
  const { client, sdk } = await clients.s3()
  let bucketRegion: string
  try {
    const loc = await awsCall(s3Call(opts.bucket, 'GetBucketLocation'), () =>
      client.send(new sdk.GetBucketLocationCommand({ Bucket: opts.bucket })),
    )
    // us-east-1 is reported as no constraint; EU as the legacy eu-west-1 alias.
    const c = loc.LocationConstraint as string | undefined
    bucketRegion = !c ? 'us-east-1' : c === 'EU' ? 'eu-west-1' : c
  } catch (err) {
    if (isNotFound(err)) {
      throw new AwsError(
        `S3 bucket '${opts.bucket}' does not exist (or is not visible to these credentials)`,
        {
          code: 'aws-not-found',
          hint:
            `Create it in ${opts.region}, the snapshot's Region: aws s3api create-bucket --bucket ${opts.bucket} --region ${opts.region}` +
            (opts.region === 'us-east-1'
              ? ''
              : ` --create-bucket-configuration LocationConstraint=${opts.region}`),
        },
      )
    }
    if (!isAccessDenied(err)) throw err
    throw new AwsError(
      `cannot read the Region of S3 bucket '${opts.bucket}': s3:GetBucketLocation is denied`,
      {
        code: 'aws-access-denied',
        hint:
          `${who} checks the bucket with the caller's identity, which needs s3:GetBucketLocation and ` +
          `s3:ListAllMyBuckets on "*". Grant them, or pass --skip-bucket-check to try the export anyway.`,
      },
    )
  }
  if (bucketRegion !== opts.region) {
    throw new AwsError(`S3 bucket '${opts.bucket}' is in ${bucketRegion}, the snapshot in ${opts.region}`, {
      code: 'aws-bucket-region',
      hint: `${who} exports only to a bucket in the snapshot's own Region: use a bucket in ${opts.region}, then copy the objects across with S3.`,
    })
  }
  return bucketRegion
}

const permissionError = (run: BucketCheckRun, message: string) =>
  new AwsError(message, {
    code: 'aws-bucket-permission',
    hint:
      explainGrant(run.opts.service, run.opts.bucket, run.opts.region) +
      '\nOr pass --skip-bucket-check to try anyway.',
  })

/** ElastiCache in the default Regions: its canonical user in the bucket ACL (or, also documented, the bucket policy). */
async function checkAclGrant(run: BucketCheckRun, canonicalId: string): Promise<BucketCheck['permission']> {
  const { clients, opts, who, notes } = run
  const { client, sdk } = await clients.s3()
  let grants: AclGrant[]
  try {
    const acl = await awsCall(s3Call(opts.bucket, 'GetBucketAcl'), () =>
      client.send(new sdk.GetBucketAclCommand({ Bucket: opts.bucket })),
    )
    grants = acl.Grants ?? []
  } catch (err) {
    if (!isAccessDenied(err)) throw err
    notes.push(`could not read the bucket ACL (s3:GetBucketAcl denied): the ${who} grant was not checked`)
    return 'unknown'
  }
  const missing = missingAclPermissions(grants, canonicalId)
  if (!missing.length) return 'verified'
  // A policy grant to the regional service principal is the other documented mechanism.
  const principal = `${opts.region}.elasticache-snapshot.amazonaws.com`
  const policy = await readPolicy(clients, opts.bucket, notes)
  if (policy !== undefined && !missingPolicyActions(policy, principal, opts.bucket, POLICY_ACTIONS).length) {
    notes.push(
      `the ACL lacks the ${who} grant, but the bucket policy allows ${principal}; AWS documents the ACL grant for ${opts.region}`,
    )
    return 'verified'
  }
  const enforced = await aclsDisabled(clients, opts.bucket)
  throw permissionError(
    run,
    `${who} cannot export to S3 bucket '${opts.bucket}': its ACL does not grant ${who}'s canonical user ` +
      `${missing.map((p) => ACL_LABEL[p]).join(', ')}` +
      (enforced ? ' (ACLs are disabled on this bucket: Object Ownership is "bucket owner enforced")' : ''),
  )
}

/** MemoryDB, and ElastiCache in opt-in Regions: the service principal in the bucket policy. */
async function checkPolicyGrant(
  run: BucketCheckRun,
  grant: Extract<ExportGrant, { kind: 'policy' }>,
): Promise<BucketCheck['permission']> {
  const { clients, opts, who, notes } = run
  const policy = await readPolicy(clients, opts.bucket, notes)
  if (policy === undefined) return 'unknown'
  const missing = missingPolicyActions(policy, grant.principal, opts.bucket, grant.actions)
  if (!missing.length) return 'verified'
  throw permissionError(
    run,
    `${who} cannot export to S3 bucket '${opts.bucket}': the bucket policy does not allow ${grant.principal} ${missing.join(', ')}`,
  )
}

/** The export's keys already in the bucket (the service refuses to overwrite them). */
async function keysAlreadyThere({ clients, opts, notes }: BucketCheckRun): Promise<string[]> {
  const { client, sdk } = await clients.s3()
  const existingKeys: string[] = []
  for (const key of opts.keys) {
    try {
      await awsCall(s3Call(opts.bucket, 'HeadObject'), () =>
        client.send(new sdk.HeadObjectCommand({ Bucket: opts.bucket, Key: key })),
      )
      existingKeys.push(key)
    } catch (err) {
      if (isNotFound(err)) continue
      if (!isAccessDenied(err)) throw err
      notes.push(`could not check whether ${key} already exists (s3:GetObject / s3:ListBucket denied)`)
      break
    }
  }
  return existingKeys
}

/** The bucket policy text; undefined when it cannot be read (noted), '' when there is none. */
async function readPolicy(clients: AwsClients, bucket: string, notes: string[]): Promise<string | undefined> {
  const { client, sdk } = await clients.s3()
  try {
    const out = await awsCall(
      { service: 'S3', operation: 'GetBucketPolicy', resource: `bucket '${bucket}'` },
      () => client.send(new sdk.GetBucketPolicyCommand({ Bucket: bucket })),
    )
    return out.Policy ?? ''
  } catch (err) {
    const cause = (err as { cause?: { name?: string } }).cause
    if (cause?.name === 'NoSuchBucketPolicy') return ''
    if (isAccessDenied(err)) {
      notes.push('could not read the bucket policy (s3:GetBucketPolicy denied): the grant was not checked')
      return undefined
    }
    throw err
  }
}

async function aclsDisabled(clients: AwsClients, bucket: string): Promise<boolean> {
  const { client, sdk } = await clients.s3()
  try {
    const out = await client.send(new sdk.GetBucketOwnershipControlsCommand({ Bucket: bucket }))
    return Boolean(out.OwnershipControls?.Rules?.some((r) => r.ObjectOwnership === 'BucketOwnerEnforced'))
  } catch {
    return false
  }
}
