import type { Breach, CheckResult, CheckStatus, Figure } from './evaluate.js'

/** `kvtop check`'s answer as an exit code: 0 ok, 1 warning, 2 critical (Nagios' codes too). */
export const CHECK_EXIT: Record<CheckStatus, 0 | 1 | 2> = { ok: 0, warning: 1, critical: 2 }

/** Nagios' exit code when the plugin cannot answer (unreachable deployment, bad arguments). */
export const NAGIOS_UNKNOWN = 3

function breachLine(b: Breach): string {
  return `${b.severity.toUpperCase()} ${b.message}`
}

function summary(result: CheckResult): string {
  const d = result.deployment
  const critical = result.breaches.filter((b) => b.severity === 'critical').length
  const warning = result.breaches.length - critical
  if (!result.breaches.length) return `${d.nodesUp}/${d.nodes} nodes up, no threshold broken`
  const counts = [
    ...(critical ? [`${critical} critical`] : []),
    ...(warning ? [`${warning} warning`] : []),
  ].join(', ')
  return `${counts}: ${result.breaches[0].message}`
}

/** A check that was asked for but had nothing to measure: said, so silence is not read as OK. */
function uncheckedLine(u: CheckResult['unchecked'][number]): string {
  return `NOT CHECKED ${u.check}: ${u.reason}`
}

/**
 * The text report: a status line, then one line per threshold broken, then the checks asked for
 * (`notes`: those given by flag or config, not defaults) that had nothing to measure.
 */
export function formatCheck(result: CheckResult, notes: CheckResult['unchecked'] = []): string {
  return [
    `kvtop check: ${result.status.toUpperCase()} - ${summary(result)}`,
    ...result.breaches.map(breachLine),
    ...notes.map(uncheckedLine),
  ].join('\n')
}

function perfNumber(n: number | undefined): string {
  if (n === undefined) return ''
  return String(Math.round(n * 1000) / 1000)
}

/** `label=value[UOM];warn;crit;min;max`, as the Nagios plugin guidelines define it. */
export function perfdata(f: Figure): string {
  return `${f.label}=${perfNumber(f.value)}${f.uom};${perfNumber(f.warning)};${perfNumber(f.critical)};${perfNumber(f.min)};${perfNumber(f.max)}`
}

/**
 * Nagios plugin output: `KVTOP STATUS - summary | perfdata` on the first line, then one line per
 * threshold broken (the plugin's long output).
 */
export function formatNagios(result: CheckResult, notes: CheckResult['unchecked'] = []): string {
  const perf = result.figures.map(perfdata).join(' ')
  const first = `KVTOP ${result.status.toUpperCase()} - ${summary(result)}${perf ? ` | ${perf}` : ''}`
  return [first, ...result.breaches.map(breachLine), ...notes.map(uncheckedLine)].join('\n')
}

/** The UNKNOWN line of a check that could not run. */
export function formatNagiosUnknown(message: string): string {
  return `KVTOP UNKNOWN - ${message.split('\n')[0]}`
}
