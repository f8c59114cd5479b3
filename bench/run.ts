import { mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { DATA_PROFILES, parseProfiles } from './lib-dataset.js'
import type { BenchOptions, BenchReport } from './types.js'

/**
 * `npm run bench -- NAME [--scale S] [--data production,uniform]`: run bench/NAME.ts (compiled),
 * print a Markdown table and the JSON report, and keep the JSON under bench/results/. Benchmarks
 * that load a dataset run once per data profile (both by default).
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
  const name = argv.find((a, i) => !a.startsWith('--') && !['--scale', '--data'].includes(argv[i - 1] ?? ''))
  const scaleIndex = argv.indexOf('--scale')
  const scale = scaleIndex >= 0 ? Number(argv[scaleIndex + 1]) : 1
  if (!name || !available().includes(name)) {
    process.stderr.write(
      `usage: npm run bench -- NAME [--scale S] [--data ${DATA_PROFILES.join(',')}]\navailable: ${available().join(', ') || '(none yet)'}\n`,
    )
    process.exit(2)
  }
  const mod = (await import(join(here, `${name}.js`))) as {
    run: (o: BenchOptions) => Promise<BenchReport>
    usesDataset?: boolean
  }
  // A benchmark that loads data runs once per profile; its cases are named by profile.
  const profiles = mod.usesDataset ? parseProfiles(argv) : [DATA_PROFILES[0]]
  const passes: BenchReport[] = []
  for (const profile of profiles) {
    const report = await mod.run({ scale, profile })
    passes.push(
      mod.usesDataset
        ? {
            ...report,
            rows: report.rows.map((r) => ({ ...r, case: `[${profile}] ${r.case}` })),
            notes: (report.notes ?? []).map((n) => `[${profile}] ${n}`),
          }
        : report,
    )
  }
  const report: BenchReport = {
    name: passes[0].name,
    rows: passes.flatMap((p) => p.rows),
    notes: passes.flatMap((p) => p.notes ?? []),
  }
  const data = mod.usesDataset ? { data: profiles } : {}
  process.stdout.write(
    toMarkdown(report) +
      '\n\n' +
      JSON.stringify({ ...report, scale, ...data, at: Date.now() }, null, 2) +
      '\n',
  )
  const out = join(here, '..', '..', 'bench', 'results')
  mkdirSync(out, { recursive: true })
  writeFileSync(
    join(out, `${name}-${Date.now()}.json`),
    JSON.stringify({ ...report, scale, ...data }, null, 2),
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main(process.argv.slice(2))
}
