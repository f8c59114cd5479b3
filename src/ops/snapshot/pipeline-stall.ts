import type { RoutedPipeline } from '../../wire/routed-pipeline.js'
import type { StallWatch, Watched } from '../../wire/stall-watch.js'

/** A stall watch over a routed pipeline's connections: the silentest node, which aborts the whole pipeline. */
export function watchPipeline<T>(watch: StallWatch, pipeline: RoutedPipeline<T>): () => void {
  return watch.addSource(function* (): Iterable<Watched> {
    const worst = pipeline.silentest()
    if (worst)
      yield { address: worst.address, target: { silentForMs: worst.ms, abort: (err) => pipeline.abort(err) } }
  })
}
