/**
 * A minimal Prometheus registry (text exposition format 0.0.4): counters and histograms with
 * labels. Label values are chosen by the caller from bounded sets (see observer.ts), so the number
 * of series is fixed by the configuration, never by traffic.
 */

export type Labels = Readonly<Record<string, string>>;

/** Prometheus text format: backslash, double quote and newline are escaped in label values. */
function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

export function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([name, value]) => `${name}="${escapeLabel(value)}"`).join(",")}}`;
}

/**
 * The series key, independent of the labels' order. Runs several times per proxied request, hence
 * no JSON and no locale-aware sort; NUL cannot occur in a label name and the bounded label values
 * (configured names, fixed vocabularies) carry none either.
 */
function keyOf(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (const name of names) key += `${name}\0${labels[name]}\0`;
  return key;
}

export interface Metric {
  readonly name: string;
  render(): string[];
}

/** One labelled series of a counter; callers on a hot path keep it instead of passing labels again. */
export class CounterCell {
  constructor(
    readonly labels: Labels,
    public value = 0,
  ) {}

  inc(by = 1): void {
    this.value += by;
  }
}

export class Counter implements Metric {
  readonly #series = new Map<string, CounterCell>();

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  inc(labels: Labels = {}, by = 1): void {
    this.cell(labels).inc(by);
  }

  /** The series for `labels`, created at 0 (rendered from then on). */
  cell(labels: Labels = {}): CounterCell {
    const key = keyOf(labels);
    let cell = this.#series.get(key);
    if (cell === undefined) {
      cell = new CounterCell(labels);
      this.#series.set(key, cell);
    }
    return cell;
  }

  value(labels: Labels = {}): number {
    return this.#series.get(keyOf(labels))?.value ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    for (const { labels, value } of this.#series.values())
      lines.push(`${this.name}${formatLabels(labels)} ${value}`);
    return lines;
  }
}

/** One labelled series of a histogram. */
export class HistogramCell {
  readonly buckets: number[];
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.buckets = bounds.map(() => 0);
  }

  observe(value: number): void {
    const { bounds, buckets } = this;
    for (let index = bounds.length - 1; index >= 0 && value <= (bounds[index] as number); index--)
      buckets[index] = (buckets[index] ?? 0) + 1;
    this.sum += value;
    this.count += 1;
  }
}

export class Histogram implements Metric {
  readonly #series = new Map<string, HistogramCell>();

  constructor(
    readonly name: string,
    readonly help: string,
    /** Upper bounds, ascending; `+Inf` is implicit. */
    readonly bounds: readonly number[],
  ) {}

  observe(labels: Labels, value: number): void {
    this.cell(labels).observe(value);
  }

  /** The series for `labels`, created empty (rendered from then on). */
  cell(labels: Labels): HistogramCell {
    const key = keyOf(labels);
    let cell = this.#series.get(key);
    if (cell === undefined) {
      cell = new HistogramCell(labels, this.bounds);
      this.#series.set(key, cell);
    }
    return cell;
  }

  count(labels: Labels): number {
    return this.#series.get(keyOf(labels))?.count ?? 0;
  }

  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    for (const series of this.#series.values()) {
      this.bounds.forEach((bound, index) => {
        const labels = formatLabels({ ...series.labels, le: String(bound) });
        lines.push(`${this.name}_bucket${labels} ${series.buckets[index] ?? 0}`);
      });
      lines.push(`${this.name}_bucket${formatLabels({ ...series.labels, le: "+Inf" })} ${series.count}`);
      lines.push(`${this.name}_sum${formatLabels(series.labels)} ${series.sum}`);
      lines.push(`${this.name}_count${formatLabels(series.labels)} ${series.count}`);
    }
    return lines;
  }
}

/** A value read when scraped (rendezvous size, process memory, CPU time). */
export function gaugeLines(
  name: string,
  help: string,
  samples: ReadonlyArray<[Labels, number]>,
  type: "gauge" | "counter" = "gauge",
): string[] {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`];
  for (const [labels, value] of samples) lines.push(`${name}${formatLabels(labels)} ${value}`);
  return lines;
}
