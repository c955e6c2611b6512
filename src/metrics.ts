import { collectDefaultMetrics, Counter, Gauge, Histogram, register, type Registry } from 'prom-client';

/**
 * The process's metrics, in prom-client's default registry: one per process, so that `npm start`
 * (API and worker in one process) shows both on /metrics, and a separate worker serves its own on
 * WORKER_METRICS_PORT. Created once, however many apps a process builds (tests build many).
 */
function create(registry: Registry) {
  collectDefaultMetrics({ register: registry, prefix: 'switchboard_' });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'switchboard_http_request_duration_seconds',
      help: 'HTTP requests by route, method and status',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    apiErrors: new Counter({ name: 'switchboard_api_errors_total', help: 'API error responses by contract code', labelNames: ['code', 'status'], registers: [registry] }),
    dials: new Counter({ name: 'switchboard_dials_total', help: 'Dial attempts by outcome', labelNames: ['outcome'], registers: [registry] }),
    carrierErrors: new Counter({ name: 'switchboard_carrier_errors_total', help: 'Twilio (or simulated carrier) errors by code', labelNames: ['code'], registers: [registry] }),
    dialLatency: new Histogram({
      name: 'switchboard_dial_latency_seconds',
      help: 'Time for the carrier to accept (or refuse) a dial',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20],
      registers: [registry],
    }),
    callDuration: new Histogram({
      name: 'switchboard_call_duration_seconds',
      help: 'Duration of answered calls',
      buckets: [10, 30, 60, 120, 300, 600, 1200, 3600],
      registers: [registry],
    }),
    callOutcomes: new Counter({
      name: 'switchboard_call_outcomes_total',
      help: 'Calls that ended, by outcome (completed, busy, no-answer, failed, canceled, voicemail-left, machine-hangup)',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    answers: new Counter({
      name: 'switchboard_call_answers_total',
      help: 'Answered calls with answering-machine detection, by who answered (human, machine, fax) and what the call did (connect, voicemail, hangup)',
      labelNames: ['answerer', 'action'],
      registers: [registry],
    }),
    gateDecisions: new Counter({
      name: 'switchboard_gate_decisions_total',
      help: 'Decisions of the contactability gate before a dial, by decision (dial, defer, refuse) and reason',
      labelNames: ['decision', 'reason'],
      registers: [registry],
    }),
    campaignDials: new Counter({
      name: 'switchboard_campaign_dials_total',
      help: "Dial attempts of campaigns' calls, by campaign and outcome (placed, recovered, retrying, failed)",
      labelNames: ['campaign', 'outcome'],
      registers: [registry],
    }),
    webhookDeliveries: new Counter({
      name: 'switchboard_webhook_deliveries_total',
      help: 'Event delivery attempts by result (delivered, retrying, failed)',
      labelNames: ['result'],
      registers: [registry],
    }),
    webhookLatency: new Histogram({
      name: 'switchboard_webhook_delivery_seconds',
      help: 'Time a receiver took to answer a delivery',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    campaignOutcomes: new Counter({
      name: 'switchboard_campaign_call_outcomes_total',
      help: "Campaigns' calls that ended, by campaign and outcome",
      labelNames: ['campaign', 'outcome'],
      registers: [registry],
    }),
    campaignGateDecisions: new Counter({
      name: 'switchboard_campaign_gate_decisions_total',
      help: "The contactability gate's decisions on campaigns' calls, by campaign, decision and reason",
      labelNames: ['campaign', 'decision', 'reason'],
      registers: [registry],
    }),
    jobs: new Gauge({ name: 'switchboard_jobs', help: 'Call jobs by state (at scrape time)', labelNames: ['state'], registers: [registry] }),
    capacity: new Gauge({ name: 'switchboard_capacity_slots', help: 'Live-call slots and callers (at scrape time)', labelNames: ['kind'], registers: [registry] }),
  };
}

export type Metrics = ReturnType<typeof create>;
let metrics: Metrics | undefined;

export const processMetrics = (): Metrics => (metrics ??= create(register));
