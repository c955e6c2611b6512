import type { ContextEntry } from '../carriers/twilio/twiml.js';
import { isSpeakable, MAX_INLINE_TWIML_LENGTH } from '../carriers/twilio/twiml.js';
import { connectModeOf, type CallJobData } from '../jobs/call-jobs.js';

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
  campaignId: data.campaignId ?? null,
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
 * The entries that fit within `budget`, in order: an entry that does not fit is dropped and smaller
 * ones after it still may be; room for the truncation mark is kept, and the mark added when any
 * entry was left out. `cost` is what one entry adds (Infinity: it can never be sent).
 */
export function fitEntries(entries: readonly ContextEntry[], budget: number, cost: (entry: ContextEntry) => number): ContextEntry[] {
  const kept: ContextEntry[] = [];
  const reserve = cost(TRUNCATED_ENTRY);
  let used = 0;
  for (const entry of entries) {
    const size = cost(entry);
    if (used + size + reserve <= budget) {
      kept.push(entry);
      used += size;
    }
  }
  return kept.length < entries.length ? [...kept, TRUNCATED_ENTRY] : kept;
}

/** SIP allows these in a header name; a metadata key with anything else is left to the context endpoint. */
const SIP_HEADER_NAME = /^[A-Za-z0-9._~+-]+$/;

/** The context as SIP `X-` headers, within Twilio's 1,024 characters of headers. */
export function sipHeaders(context: CallContext): ContextEntry[] {
  const entries = contextEntries(context);
  // `X-name=value&`: the value percent-encoded, as sipUriWithHeaders writes it.
  // A value with a lone surrogate cannot be percent-encoded: it is left to the context endpoint.
  const headers = fitEntries(entries, MAX_SIP_HEADERS_LENGTH + 1, ([name, value]) => (SIP_HEADER_NAME.test(name) && isSpeakable(value) ? 4 + name.length + encodeURIComponent(value).length : Infinity));
  return headers.map(([name, value]) => [`X-${name}`, value] as const);
}

/** How many characters each character takes once the TwiML builder has written it in an attribute (`&` takes 5). */
const attributeWidths = new Map<string, number>();
const MAX_KNOWN_WIDTHS = 10_000;

/**
 * The context as Media Streams `<Parameter>`s, within Twilio's 4,000 characters of inline TwiML. An
 * entry XML cannot carry at all (a control character, a lone surrogate) is left out, not mangled.
 */
export function streamParameters(context: CallContext, build: (parameters: readonly ContextEntry[]) => string): ContextEntry[] {
  // A <Parameter/> adds the same characters wherever it stands, and each character of its name and
  // value is written the same way every time: both are measured with the TwiML builder itself, once.
  const first: ContextEntry = ['a', 'a'];
  const withFirst = build([first]).length;
  const withBlank = build([first, ['', '']]).length;
  const width = (text: string) => {
    let total = 0;
    for (const character of text) {
      let known = attributeWidths.get(character);
      if (known === undefined) {
        known = build([first, [character, '']]).length - withBlank;
        if (attributeWidths.size < MAX_KNOWN_WIDTHS) attributeWidths.set(character, known);
      }
      total += known;
    }
    return total;
  };
  const cost = ([name, value]: ContextEntry) => (isSpeakable(name) && isSpeakable(value) ? withBlank - withFirst + width(name) + width(value) : Infinity);
  const empty = withFirst - cost(first);
  return fitEntries(contextEntries(context), MAX_INLINE_TWIML_LENGTH - empty, cost);
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
    connect: connectModeOf(data),
    parameters: Object.fromEntries(contextEntries(context)),
  };
}
