/** Verifying one test sandbox against another through the service, one pass unless told. */
import { Deployment } from '../../../../src/connect/deployment.js'
import type { VerifyOptions } from '../../../../src/ops/verify/types.js'
import { verifyDatasets } from '../../../../src/ops/verify/verify.js'
import type { TestSandbox } from '../../../helpers/sandbox.js'

export async function verifySandboxes(source: TestSandbox, target: TestSandbox, options: VerifyOptions = {}) {
  const [s, t] = await Promise.all([
    Deployment.connect({ url: source.url }),
    Deployment.connect({ url: target.url }),
  ])
  try {
    return await verifyDatasets(s, t, { passes: 1, ...options })
  } finally {
    await Promise.all([s.close(), t.close()])
  }
}
