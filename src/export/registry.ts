import { Counter, Gauge, Registry } from 'prom-client'
import { ALL_FAMILIES, type MetricFamily } from './catalog.js'
import { collectSamples, LabelCache, type DeploymentView, type Sample, type Samples } from './samples.js'

type Source = (name: string) => Sample[]

/**
 * prom-client's Gauge and Counter, filled at collect time from the deployments' cached figures:
 * `get()` hands the registry this scrape's samples as they are (node labels as shared labels, one
 * object per node that the registry formats once), instead of a `set()` per sample into the
 * metric's own hash map, which costs more than the whole rest of a scrape.
 */
function snapshotMetric(family: MetricFamily, source: Source): Gauge | Counter {
  const options = { name: family.name, help: family.help, labelNames: family.labels, registers: [] }
  const metric = family.type === 'counter' ? new Counter(options) : new Gauge(options)
  metric.get = async () => ({
    name: family.name,
    help: family.help,
    type: family.type as never,
    aggregator: 'sum',
    values: source(family.name),
    collect: () => undefined,
  })
  return metric
}

/**
 * A prom-client registry of its own (no process-wide default registry), whose metrics are filled
 * at collect time from the deployments' cached figures: a scrape reads what the engines last saw
 * and never waits on a server.
 */
export class ExportRegistry {
  readonly registry = new Registry()
  private current: Samples = new Map()
  private readonly labels = new LabelCache()

  constructor(
    private readonly views: () => readonly DeploymentView[],
    private readonly now: () => number = Date.now,
  ) {
    const source = (name: string) => this.current.get(name) ?? []
    for (const family of ALL_FAMILIES) this.registry.registerMetric(snapshotMetric(family, source))
  }

  get contentType(): string {
    return this.registry.contentType
  }

  /** The exposition text of one scrape. */
  async scrape(): Promise<string> {
    // Two scrapes at once may interleave (prom-client awaits between metrics): both read figures
    // of the same cached rounds, so whichever computation a metric sees is consistent.
    this.current = collectSamples(this.views(), this.now(), this.labels)
    return this.registry.metrics()
  }
}
