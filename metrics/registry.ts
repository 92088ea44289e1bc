/**
 * A tiny metrics registry: counters (optionally with one label from a fixed set), gauges and
 * fixed-bucket histograms, rendered in the Prometheus text exposition format 0.0.4. No I/O.
 * sockchat's own metrics are declared in metrics/sockchat_metrics.ts.
 *
 * @module
 */

/** The `Content-Type` of {@linkcode MetricsRegistry.render}'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One metric as the registry renders it: what every metric type has in common. */
export interface Renderable {
  /** The exported metric name; the registry checks it when the metric is registered. */
  readonly name: string;
  /** The metric's `# HELP`/`# TYPE` block and samples, each line ending in `\n`. */
  render(): string;
}

/** A number as the exposition format spells it. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeHelp(help: string): string {
  return help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
}

function checkIncrement(name: string, amount: number): void {
  if (!(amount >= 0) || !Number.isFinite(amount)) {
    throw new RangeError(`Counter ${name} can only grow by a finite amount ≥ 0, not ${amount}.`);
  }
}

/** A count that only goes up, such as messages received. */
export class Counter implements Renderable {
  /** The exported metric name; the registry checks it when the metric is registered. */
  readonly name: string;
  readonly #help: string;
  #value = 0;

  /** Starts at 0; `help` is the line a scrape shows above the value. */
  constructor(name: string, help: string) {
    this.name = name;
    this.#help = help;
  }

  /** The count so far. */
  get value(): number {
    return this.#value;
  }

  /** Adds `amount`. @default 1 */
  inc(amount = 1): void {
    checkIncrement(this.name, amount);
    this.#value += amount;
  }

  render(): string {
    return header(this.name, this.#help, "counter") + `${this.name} ${formatValue(this.#value)}\n`;
  }
}

/**
 * A counter split by one label whose values are fixed up front, so that a peer cannot mint new
 * series; every value is exported from the start, at 0.
 */
export class LabeledCounter<V extends string> implements Renderable {
  /** The exported metric name; the registry checks it when the metric is registered. */
  readonly name: string;
  readonly #help: string;
  readonly #label: string;
  readonly #values: Map<V, number>;

  /** Throws a RangeError for a bad label name; every one of `values` is exported from the start. */
  constructor(name: string, help: string, label: string, values: readonly V[]) {
    if (!LABEL_NAME.test(label)) throw new RangeError(`Bad label name ${JSON.stringify(label)}.`);
    this.name = name;
    this.#help = help;
    this.#label = label;
    this.#values = new Map(values.map((value) => [value, 0]));
  }

  /** The count for one label value. */
  value(labelValue: V): number {
    return this.#values.get(labelValue) ?? 0;
  }

  /** Adds `amount` to the series for `labelValue`. @default 1 */
  inc(labelValue: V, amount = 1): void {
    checkIncrement(this.name, amount);
    const current = this.#values.get(labelValue);
    if (current === undefined) {
      throw new RangeError(`${this.name} has no ${this.#label} ${JSON.stringify(labelValue)}.`);
    }
    this.#values.set(labelValue, current + amount);
  }

  render(): string {
    let out = header(this.name, this.#help, "counter");
    for (const [labelValue, count] of this.#values) {
      out += `${this.name}{${this.#label}="${escapeLabelValue(labelValue)}"} ${
        formatValue(count)
      }\n`;
    }
    return out;
  }
}

/**
 * A value that goes up and down, such as open connections. Either set it as things happen, or
 * give it a sampler that is read at each scrape (best for totals the server can compute).
 */
export class Gauge implements Renderable {
  /** The exported metric name; the registry checks it when the metric is registered. */
  readonly name: string;
  readonly #help: string;
  #value = 0;
  #sample: (() => number) | null = null;

  /** Starts at 0 with no sampler; `help` is the line a scrape shows above the value. */
  constructor(name: string, help: string) {
    this.name = name;
    this.#help = help;
  }

  /** The current value (sampled, if there is a sampler). A sampler that throws reads NaN. */
  get value(): number {
    if (this.#sample === null) return this.#value;
    try {
      return this.#sample();
    } catch {
      return NaN;
    }
  }

  /** Sets the value. */
  set(value: number): void {
    this.#value = value;
  }

  /** Adds `amount`. @default 1 */
  inc(amount = 1): void {
    this.#value += amount;
  }

  /** Subtracts `amount`. @default 1 */
  dec(amount = 1): void {
    this.#value -= amount;
  }

  /** Reads the value from `sample` at every scrape from now on, instead of the set value. */
  sampleWith(sample: () => number): void {
    this.#sample = sample;
  }

  render(): string {
    return header(this.name, this.#help, "gauge") + `${this.name} ${formatValue(this.value)}\n`;
  }
}

/** A distribution over fixed buckets, such as write latency in seconds. */
export class Histogram implements Renderable {
  /** The exported metric name; the registry checks it when the metric is registered. */
  readonly name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  /** Throws a RangeError unless `buckets` are finite and strictly increasing. */
  constructor(name: string, help: string, buckets: readonly number[]) {
    const ascending = buckets.every((b, i) =>
      Number.isFinite(b) && (i === 0 || b > buckets[i - 1])
    );
    if (buckets.length === 0 || !ascending) {
      throw new RangeError(`Buckets of ${name} must be finite and strictly increasing.`);
    }
    this.name = name;
    this.#help = help;
    this.#bounds = [...buckets];
    this.#counts = buckets.map(() => 0);
  }

  /** Observations so far. */
  get count(): number {
    return this.#count;
  }

  /** Sum of all observations. */
  get sum(): number {
    return this.#sum;
  }

  /** Records one observation. NaN is ignored rather than poisoning the sum. */
  observe(value: number): void {
    if (Number.isNaN(value)) return;
    this.#count++;
    this.#sum += value;
    const index = this.#bounds.findIndex((bound) => value <= bound);
    if (index >= 0) this.#counts[index]++;
  }

  render(): string {
    let out = header(this.name, this.#help, "histogram");
    let cumulative = 0;
    for (const [i, bound] of this.#bounds.entries()) {
      cumulative += this.#counts[i];
      out += `${this.name}_bucket{le="${formatValue(bound)}"} ${cumulative}\n`;
    }
    out += `${this.name}_bucket{le="+Inf"} ${this.#count}\n`;
    out += `${this.name}_sum ${formatValue(this.#sum)}\n`;
    out += `${this.name}_count ${this.#count}\n`;
    return out;
  }
}

/**
 * Holds metrics in the order they were declared and renders them all.
 *
 * @example
 * ```ts
 * const registry = new MetricsRegistry();
 * const hits = registry.counter("app_hits_total", "Requests served.");
 * hits.inc();
 * registry.render(); // "# HELP app_hits_total Requests served.\n# TYPE ...\napp_hits_total 1\n"
 * ```
 */
export class MetricsRegistry {
  readonly #metrics: Map<string, Renderable> = new Map();

  /** Declares a counter. Names of counters should end in `_total`. */
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }

  /** Declares a counter with one label, which may take only `values`. */
  labeledCounter<V extends string>(
    name: string,
    help: string,
    label: string,
    values: readonly V[],
  ): LabeledCounter<V> {
    return this.#add(new LabeledCounter(name, help, label, values));
  }

  /** Declares a gauge. */
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }

  /** Declares a histogram with the given upper bucket bounds (`+Inf` is implied). */
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }

  /** Every metric in the text exposition format 0.0.4. */
  render(): string {
    let out = "";
    for (const metric of this.#metrics.values()) out += metric.render();
    return out;
  }

  #add<M extends Renderable>(metric: M): M {
    if (!METRIC_NAME.test(metric.name)) {
      throw new RangeError(`Bad metric name ${JSON.stringify(metric.name)}.`);
    }
    if (this.#metrics.has(metric.name)) {
      throw new RangeError(`Metric ${metric.name} is already declared.`);
    }
    this.#metrics.set(metric.name, metric);
    return metric;
  }
}
