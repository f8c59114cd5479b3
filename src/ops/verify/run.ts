import { Deployment, refuseSameServer } from '../../connect/deployment.js'
import type { ConnectionInput } from '../../connect/options.js'
import { AtomicFile } from '../../data/atomic-file.js'
import type { VerifyOptions, VerifyReport } from './types.js'
import { verifyDatasets } from './verify.js'

interface RunVerifyOptions extends VerifyOptions {
  /** --report FILE: every difference as a JSON line, written atomically. */
  reportPath?: string
  overwriteReport?: boolean
}

/** The service behind `kvtop verify`: connect both sides, compare, write the report file. */
export async function runVerify(
  inputs: { source: ConnectionInput; target: ConnectionInput },
  options: RunVerifyOptions,
): Promise<VerifyReport> {
  // The report's destination is checked before any connection: a bad path fails fast.
  const file = options.reportPath
    ? AtomicFile.open(options.reportPath, { overwrite: options.overwriteReport })
    : undefined
  let source: Deployment | undefined
  let target: Deployment | undefined
  try {
    source = await Deployment.connect(inputs.source)
    target = await Deployment.connect(inputs.target)
    await refuseSameServer(source, target)
    const report = await verifyDatasets(source, target, {
      ...options,
      onDifference: (d) => {
        file?.writeSync(Buffer.from(JSON.stringify(d) + '\n'))
        options.onDifference?.(d)
      },
    })
    await file?.commit()
    return report
  } catch (err) {
    file?.discard()
    throw err
  } finally {
    await Promise.all([source?.close(), target?.close()])
  }
}
