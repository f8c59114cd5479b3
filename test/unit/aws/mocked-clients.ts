import { ElastiCacheClient } from '@aws-sdk/client-elasticache'
import { MemoryDBClient } from '@aws-sdk/client-memorydb'
import { mockClient } from 'aws-sdk-client-mock'
import { afterAll, beforeEach } from 'vitest'
import { AwsClients } from '../../../src/aws/clients.js'

/**
 * ElastiCache and MemoryDB mocked for a test file, and kvtop's clients in `region` on top of
 * them: the mocks are reset before each test and restored after the file.
 */
export function mockedAwsClients(region: string) {
  const ec = mockClient(ElastiCacheClient)
  const mdb = mockClient(MemoryDBClient)
  const clients = new AwsClients({ region })
  afterAll(() => {
    ec.restore()
    mdb.restore()
    clients.destroy()
  })
  beforeEach(() => {
    ec.reset()
    mdb.reset()
  })
  return { ec, mdb, clients }
}
