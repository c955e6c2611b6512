import type { ContextEntry } from '../carriers/twilio/twiml.js';
import { isSpeakable, MAX_INLINE_TWIML_LENGTH } from '../carriers/twilio/twiml.js';
import type { CallJobData } from '../jobs/call-jobs.js';

/** What the voice agent is told about the person it is about to speak with. */
export interface CallContext {
  jobId: string;
  leadId: string | null;
  campaignId: string | null;
  message: string;
  metadata: Record<string, unknown> | null;
}

export const callContext = (jobId: string, data: CallJobData): CallContext => ({
  jobId,
  leadId: data.lead_id ?? null,
  campaignId: null,
  message: data.message,
  metadata: data.metadata ?? null,
});

/** Set when some of the context did not fit; the agent reads the rest from GET /api/calls/context/:callSid. */
export const TRUNCATED_ENTRY: ContextEntry = ['context_truncated', 'true'];

/** Twilio refuses a SIP URI whose headers take 1,024 characters or more. */
export const MAX_SIP_HEADERS_LENGTH = 1023;

/** `metadata` as flat `metadata.<path>` entries, arrays by index: `{ crm: { stage: 'new' } }` gives `metadata.crm.stage=new`. */
export function flattenMetadata(metadata: Record<string, unknown> | null): ContextEntry[] {
  const entries: ContextEntry[] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object') {
      const children = Array.isArray(value) ? value.map((item, index) => [String(index), item] as const) : Object.entries(value);
      for (const [key, child] of children) walk(child, `${path}.${key}`);
    } else {
      entries.push([path, value === null ? 'null' : String(value)]);
    }
  };
  if (metadata) walk(metadata, 'metadata');
  return entries;
}

/** Every entry of the context, in the order they are kept when not all fit: ids first, then the message, then metadata. */
export function contextEntries(context: CallContext): ContextEntry[] {
  return [
    ['job_id', context.jobId],
    ...(context.leadId !== null ? [['lead_id', context.leadId] as const] : []),
    ...(context.campaignId !== null ? [['campaign_id', context.campaignId] as const] : []),
    ['message', context.message],
    ...flattenMetadata(context.metadata),
  ];
}

/**
 * The longest prefix of `entries` that `fits`, dropping an entry that does not and going on with
 * smaller ones; marked truncated when any was left out. `fits` is called once per entry.
 */
export function fitEntries(entries: readonly ContextEntry[], fits: (kept: readonly ContextEntry[]) => boolean): ContextEntry[] {
  const kept: ContextEntry[] = [];
  let truncated = false;
  for (const entry of entries) {
    if (fits([...kept, entry, TRUNCATED_ENTRY])) kept.push(entry);
    else truncated = true;
  }
  return truncated ? [...kept, TRUNCATED_ENTRY] : kept;
}

/** SIP allows these in a header name; a metadata key with anything else is left to the context endpoint. */
const SIP_HEADER_NAME = /^[A-Za-z0-9._~+-]+$/;

/** The context as SIP `X-` headers, within Twilio's 1,024 characters of headers. */
export function sipHeaders(context: CallContext): ContextEntry[] {
  const entries = contextEntries(context);
  const named = entries.filter(([name]) => SIP_HEADER_NAME.test(name));
  const headers = fitEntries(named, (kept) => kept.reduce((length, [name, value]) => length + 4 + name.length + encodeURIComponent(value).length, 0) <= MAX_SIP_HEADERS_LENGTH);
  const withTruncation = named.length < entries.length && !headers.includes(TRUNCATED_ENTRY) ? [...headers, TRUNCATED_ENTRY] : headers;
  return withTruncation.map(([name, value]) => [`X-${name}`, value] as const);
}

/**
 * The context as Media Streams `<Parameter>`s, within Twilio's 4,000 characters of inline TwiML. An
 * entry XML cannot carry at all (a control character, a lone surrogate) is left out, not mangled.
 */
export function streamParameters(context: CallContext, build: (parameters: readonly ContextEntry[]) => string): ContextEntry[] {
  return fitEntries(contextEntries(context), (kept) => kept.every(([name, value]) => isSpeakable(name) && isSpeakable(value)) && build(kept).length <= MAX_INLINE_TWIML_LENGTH);
}

/** Everything the agent may know of a call, by the carrier's call SID: what GET /api/calls/context/:callSid answers. */
export interface CallContextView extends CallContext {
  callSid: string;
  to: string;
  from: string | null;
  connect: string;
  /** The context as flat names and values: what a stream's `<Parameter>`s or a SIP target's X- headers carry when all fit. */
  parameters: Record<string, string>;
}

export function callContextView(callSid: string, jobId: string, data: CallJobData): CallContextView {
  const context = callContext(jobId, data);
  return {
    callSid,
    ...context,
    to: data.to,
    from: data.from ?? null,
    connect: data.connectToAgent ? 'agent' : (data.connect ?? 'say'),
    parameters: Object.fromEntries(contextEntries(context)),
  };
}
