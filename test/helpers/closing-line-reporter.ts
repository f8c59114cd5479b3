import type { Reporter, SerializedError, TestModule, TestSuite } from 'vitest/node'

export interface ClosingCounts {
  passed: number
  failed: number
  skipped: number
}

/**
 * The counts of the closing line. A test file that failed to load, or whose setup or teardown
 * (beforeAll/afterAll, of the file or of a describe) failed, counts as one failure, even though its
 * tests were skipped or passed: the run failed and the line must say so. So does an unhandled error.
 */
export function closingCounts(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<SerializedError> = [],
): ClosingCounts {
  let passed = 0
  let failed = 0
  let skipped = 0
  for (const mod of testModules) {
    let failedTests = 0
    for (const test of mod.children.allTests()) {
      const state = test.result().state
      if (state === 'passed') passed++
      else if (state === 'failed') failedTests++
      else skipped++
    }
    failed += failedTests
    // Errors outside any test: the file's own (import, top-level hooks) and its describes' hooks.
    const broken: (TestModule | TestSuite)[] = [mod, ...mod.children.allSuites()].filter(
      (entity) => entity.errors().length > 0,
    )
    if (broken.length) failed += broken.length
    else if (mod.state() === 'failed' && failedTests === 0) failed++
  }
  failed += unhandledErrors.length
  return { passed, failed, skipped }
}

export function closingLine(counts: ClosingCounts): string {
  return `${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`
}

/**
 * CI reads a plain closing line `N passed, N failed` (vitest's own summary is not read).
 */
export default class ClosingLineReporter implements Reporter {
  onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<SerializedError>,
  ): void {
    process.stdout.write(`\n${closingLine(closingCounts(testModules, unhandledErrors))}\n`)
  }
}
