import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { BenchOptions, BenchReport } from './types.js'

/**
 * `npm run bench -- NAME [--scale S]`: run bench/NAME.ts (compiled), print a Markdown table and the
 * JSON report, and keep the JSON under bench/results/.
 */
const here = dirname(fileURLToPath(import.meta.url))

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.js') && !['run.js', 'types.js'].includes(f) && !f.startsWith('lib'))
    .map((f) => f.replace(/\.js$/, ''))
    .sort()
}

export function toMarkdown(report: BenchReport): string {
  const lines = [
    `### ${report.name}`,
    '',
    '| case | kvtop | anchor | ratio | goal | met |',
    '|---|---|---|---|---|---|',
    ...report.rows.map(
      (r) =>
        `| ${r.case} | ${fmt(r.kvtop.rate)} ${r.kvtop.unit} (${r.kvtop.seconds.toFixed(2)} s) | ${r.anchor.name}: ${fmt(r.anchor.rate)} (${r.anchor.seconds.toFixed(2)} s) | ${r.ratio.toFixed(2)}x | ${r.goal} | ${r.met ? 'yes' : 'NO'} |`,
    ),
  ]
  if (report.notes?.length) lines.push('', ...report.notes.map((n) => `- ${n}`))
  return lines.join('\n')
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2)
}

async function main(argv: string[]): Promise<void> {
  const name = argv.find((a) => !a.startsWith('--'))
  const scaleIndex = argv.indexOf('--scale')
  const options: BenchOptions = { scale: scaleIndex >= 0 ? Number(argv[scaleIndex + 1]) : 1 }
  if (!name || !available().includes(name)) {
    process.stderr.write(
      `usage: npm run bench -- NAME [--scale S]\navailable: ${available().join(', ') || '(none yet)'}\n`,
    )
    process.exit(2)
  }
  const mod = (await import(join(here, `${name}.js`))) as { run: (o: BenchOptions) => Promise<BenchReport> }
  const report = await mod.run(options)
  process.stdout.write(
    toMarkdown(report) +
      '\n\n' +
      JSON.stringify({ ...report, scale: options.scale, at: Date.now() }, null, 2) +
      '\n',
  )
  const out = join(here, '..', '..', 'bench', 'results')
  mkdirSync(out, { recursive: true })
  writeFileSync(
    join(out, `${name}-${Date.now()}.json`),
    JSON.stringify({ ...report, scale: options.scale }, null, 2),
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2))
}
