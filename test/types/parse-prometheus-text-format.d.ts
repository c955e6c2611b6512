declare module 'parse-prometheus-text-format' {
  /** Prometheus text exposition format, parsed into metric families. */
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
