// Minimal types for the one blessed-contrib widget kvtop uses (the package ships none).
declare module 'blessed-contrib/lib/widget/charts/line.js' {
  import type { Widgets } from 'blessed'

  interface LineSeries {
    title: string
    x: string[]
    y: number[]
    style?: { line?: string | number[] }
  }
  interface LineOptions extends Widgets.BoxOptions {
    showLegend?: boolean
    legend?: { width?: number }
    wholeNumbersOnly?: boolean
    minY?: number
    maxY?: number
    numYLabels?: number
    xLabelPadding?: number
    xPadding?: number
    abbreviate?: boolean
    style?: Widgets.BoxOptions['style'] & {
      line?: string | number[]
      text?: string
      baseline?: string | number[]
    }
  }
  interface LineElement extends Widgets.BoxElement {
    options: LineOptions
    setData(series: LineSeries[]): void
  }
  function line(options: LineOptions): LineElement
  export = line
}
