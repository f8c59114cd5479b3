import {
  GetBucketAclCommand,
  GetBucketLocationCommand,
  GetBucketOwnershipControlsCommand,
  GetBucketPolicyCommand,
  HeadObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'
import {
  ELASTICACHE_CANONICAL_IDS,
  checkExportBucket,
  explainGrant,
  missingAclPermissions,
  missingPolicyActions,
  requiredGrant,
} from '../../../src/aws/export-check.js'
import { denied } from './sdk-error.js'

const s3 = mockClient(S3Client)
const clients = new AwsClients({ region: 'us-east-1' })
afterAll(() => {
  s3.restore()
  clients.destroy()
})
beforeEach(() => {
  s3.reset()
})

const notFound = () =>
  Object.assign(new Error('NotFound'), {
    name: 'NotFound',
    $fault: 'client',
    $metadata: { httpStatusCode: 404 },
  })
const EC_ID = ELASTICACHE_CANONICAL_IDS.default

describe('what the service needs on the bucket', () => {
  it('ElastiCache in a default Region: the ACL grant to its canonical ID (GovCloud and China have their own)', () => {
    expect(requiredGrant('elasticache', 'us-east-1')).toEqual({ kind: 'acl', canonicalId: EC_ID })
    expect(requiredGrant('elasticache', 'eu-west-1')).toEqual({ kind: 'acl', canonicalId: EC_ID })
    expect(requiredGrant('elasticache', 'us-gov-west-1')).toEqual({
      kind: 'acl',
      canonicalId: ELASTICACHE_CANONICAL_IDS.govcloud,
    })
    expect(requiredGrant('elasticache', 'cn-north-1')).toEqual({
      kind: 'acl',
      canonicalId: ELASTICACHE_CANONICAL_IDS.china,
    })
  })

  it('ElastiCache in an opt-in Region and MemoryDB anywhere: a bucket policy for the regional service principal', () => {
    expect(requiredGrant('elasticache', 'ap-east-1')).toMatchObject({
      kind: 'policy',
      principal: 'ap-east-1.elasticache-snapshot.amazonaws.com',
    })
    expect(requiredGrant('memorydb', 'us-east-1')).toMatchObject({
      kind: 'policy',
      principal: 'us-east-1.memorydb-snapshot.amazonaws.com',
    })
    expect(explainGrant('memorydb', 'b', 'us-east-1')).toContain(
      '"Service": "us-east-1.memorydb-snapshot.amazonaws.com"',
    )
    expect(explainGrant('elasticache', 'b', 'us-east-1')).toContain(`--grant-write id=${EC_ID}`)
  })

  it('ACL: READ, WRITE and READ_ACP for the canonical user, or FULL_CONTROL', () => {
    const g = (permission: string, ID: string = EC_ID) => ({
      Grantee: { ID, Type: 'CanonicalUser' },
      Permission: permission,
    })
    expect(missingAclPermissions([g('READ'), g('WRITE'), g('READ_ACP')], EC_ID)).toEqual([])
    expect(missingAclPermissions([g('FULL_CONTROL')], EC_ID)).toEqual([])
    expect(missingAclPermissions([g('READ'), g('WRITE', 'someone-else')], EC_ID)).toEqual([
      'WRITE',
      'READ_ACP',
    ])
  })

  it('policy: Allow for the principal, actions by wildcard, bucket and object resources', () => {
    const principal = 'ap-east-1.elasticache-snapshot.amazonaws.com'
    const actions = ['s3:PutObject', 's3:ListBucket']
    const policy = (st: object) => JSON.stringify({ Version: '2012-10-17', Statement: [st] })
    const ok = policy({
      Effect: 'Allow',
      Principal: { Service: principal },
      Action: 's3:*',
      Resource: ['arn:aws:s3:::b', 'arn:aws:s3:::b/*'],
    })
    expect(missingPolicyActions(ok, principal, 'b', actions)).toEqual([])
    const onlyObjects = policy({
      Effect: 'Allow',
      Principal: { Service: [principal] },
      Action: ['s3:*'],
      Resource: 'arn:aws:s3:::b/*',
    })
    expect(missingPolicyActions(onlyObjects, principal, 'b', actions)).toEqual(['s3:ListBucket'])
    const otherPrincipal = policy({
      Effect: 'Allow',
      Principal: { Service: 'us-east-1.elasticache-snapshot.amazonaws.com' },
      Action: 's3:*',
      Resource: '*',
    })
    expect(missingPolicyActions(otherPrincipal, principal, 'b', actions)).toEqual(actions)
    const deny = policy({ Effect: 'Deny', Principal: { Service: principal }, Action: 's3:*', Resource: '*' })
    expect(missingPolicyActions(deny, principal, 'b', actions)).toEqual(actions)
    expect(missingPolicyActions('', principal, 'b', actions)).toEqual(actions)
  })
})

describe('checkExportBucket', () => {
  const opts = {
    service: 'elasticache' as const,
    region: 'us-east-1',
    bucket: 'b',
    keys: ['s-0001.rdb', 's-0002.rdb'],
  }
  const grants = (perms: string[]) => ({
    Grants: perms.map((p) => ({
      Grantee: { ID: EC_ID, Type: 'CanonicalUser' as const },
      Permission: p as 'READ',
    })),
  })

  it('passes with the grant in place and free keys', async () => {
    s3.on(GetBucketLocationCommand).resolves({})
    s3.on(GetBucketAclCommand).resolves(grants(['READ', 'WRITE', 'READ_ACP']))
    s3.on(HeadObjectCommand).rejects(notFound())
    const c = await checkExportBucket(clients, opts)
    expect(c).toMatchObject({ permission: 'verified', region: 'us-east-1', existingKeys: [], notes: [] })
    expect(s3.commandCalls(HeadObjectCommand).map((x) => x.args[0].input.Key)).toEqual([
      's-0001.rdb',
      's-0002.rdb',
    ])
  })

  it('refuses a bucket in another Region', async () => {
    s3.on(GetBucketLocationCommand).resolves({ LocationConstraint: 'eu-west-1' })
    const err = await checkExportBucket(clients, opts).catch((e) => e)
    expect(err.exitCode).toBe(4)
    expect(err.message).toBe("S3 bucket 'b' is in eu-west-1, the snapshot in us-east-1")
  })

  it('refuses a missing ACL grant, naming the canonical ID and the permissions, and saying when ACLs are disabled', async () => {
    s3.on(GetBucketLocationCommand).resolves({})
    s3.on(GetBucketAclCommand).resolves(grants(['READ']))
    s3.on(GetBucketPolicyCommand).rejects(
      Object.assign(new Error('The bucket policy does not exist'), {
        name: 'NoSuchBucketPolicy',
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
      }),
    )
    s3.on(GetBucketOwnershipControlsCommand).resolves({
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
    })
    const err = await checkExportBucket(clients, opts).catch((e) => e)
    expect(err.code).toBe('aws-bucket-permission')
    expect(err.message).toContain('Write objects (WRITE), Read bucket permissions (READ_ACP)')
    expect(err.message).toContain('ACLs are disabled')
    expect(err.hint).toContain(EC_ID)
    expect(err.hint).toContain('put-bucket-ownership-controls')
  })

  it('unreadable ACL is a note, not a failure; existing keys are refused', async () => {
    s3.on(GetBucketLocationCommand).resolves({})
    s3.on(GetBucketAclCommand).rejects(denied())
    s3.on(HeadObjectCommand, { Key: 's-0001.rdb' }).resolves({})
    s3.on(HeadObjectCommand, { Key: 's-0002.rdb' }).rejects(notFound())
    const err = await checkExportBucket(clients, opts).catch((e) => e)
    expect(err.code).toBe('aws-key-exists')
    expect(err.message).toBe("S3 bucket 'b' already holds s-0001.rdb")
    s3.on(HeadObjectCommand).rejects(notFound())
    const ok = await checkExportBucket(clients, opts)
    expect(ok.permission).toBe('unknown')
    expect(ok.notes[0]).toContain('s3:GetBucketAcl denied')
  })

  it('a missing bucket says so and how to create it in the right Region', async () => {
    s3.on(GetBucketLocationCommand).rejects(
      Object.assign(new Error('The specified bucket does not exist'), {
        name: 'NoSuchBucket',
        $metadata: { httpStatusCode: 404 },
      }),
    )
    const err = await checkExportBucket(clients, { ...opts, region: 'us-east-1' }).catch((e) => e)
    expect(err.code).toBe('aws-not-found')
    expect(err.hint).toContain('aws s3api create-bucket --bucket b --region us-east-1')
  })
})
