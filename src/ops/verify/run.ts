import type { ConnectionInput } from '../../connect/options.js'
import { refuseSameServer } from '../../connect/same-server.js'
import { connectTarget } from '../../connect/target.js'
import { AtomicFile } from '../../data/atomic-file.js'
import type { VerifyOptions, VerifyReport } from './types.js'
import { verifyDatasets } from './verify.js'

interface RunVerifyOptions extends VerifyOptions {
  /** --report FILE: every difference as a JSON line, written atomically. */
  reportPath?: string
  overwriteReport?: boolean
}

/**
 * The service behind `kvtop verify`: connect both sides, compare, write the report file. Both
 * sides are reached through kvtop's own wire layer (connectTarget): verify never loads ioredis.
 */
export async function runVerify(
  inputs: { source: ConnectionInput; target: ConnectionInput },
  options: RunVerifyOptions,
): Promise<VerifyReport> {
  // The report's destination is checked before any connection: a bad path fails fast.
  const file = options.reportPath
    ? AtomicFile.open(options.reportPath, { overwrite: options.overwriteReport })
    : undefined
  try {
    const source = await connectTarget(inputs.source)
    const target = await connectTarget(inputs.target)
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
  }
}
