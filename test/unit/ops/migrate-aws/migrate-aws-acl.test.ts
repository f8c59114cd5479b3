import { describe, expect, it } from 'vitest'
import { UsageError } from '../../../../src/errors.js'
import { checkAcl, type MigrateAwsRequest } from '../../../../src/ops/migrate-aws/request.js'
import { freshState } from '../../../../src/ops/migrate-aws/state.js'
import type { MigrateAwsParams } from '../../../../src/ops/migrate-aws/types.js'

const request: MigrateAwsRequest = {
  source: 'orders',
  target: 'orders-mdb',
  bucket: 'b',
  statePath: 's.json',
}
const params: MigrateAwsParams = {
  source: 'orders',
  target: 'orders-mdb',
  bucket: 'b',
  snapshotName: 'snap',
  prefix: 'snap',
  nodeType: 'db.r6g.large',
  shards: 2,
  replicas: 1,
  acl: 'open-access',
  region: 'eu-west-1',
}

const refused = (fn: () => void): UsageError => {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError)
    return err as UsageError
  }
  throw new Error('not refused')
}

describe('migrate aws: the new cluster ACL', () => {
  it('a new migration must name its ACL', () => {
    expect(refused(() => checkAcl(request)).code).toBe('acl-required')
    expect(() => checkAcl({ ...request, acl: 'orders-acl' })).not.toThrow()
  })

  it('open-access (any case) only with allowOpenAccess', () => {
    for (const acl of ['open-access', 'Open-Access'])
      expect(refused(() => checkAcl({ ...request, acl })).message).toMatch(
        /without authentication: refused without --allow-open-access$/,
      )
    expect(() => checkAcl({ ...request, acl: 'open-access', allowOpenAccess: true })).not.toThrow()
  })

  it("a resume takes the state file's ACL: open-access is refused until CreateCluster was sent", () => {
    const state = freshState(params)
    const err = refused(() => checkAcl(request, state))
    expect(err.hint).toMatch(/state file s\.json records ACL 'open-access'/)
    expect(() => checkAcl({ ...request, allowOpenAccess: true }, state)).not.toThrow()
    state.steps['create-cluster'].requestedAt = 1
    expect(() => checkAcl(request, state)).not.toThrow()
    expect(() => checkAcl(request, freshState({ ...params, acl: 'orders-acl' }))).not.toThrow()
  })
})
