import fc from 'fast-check';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { MAX_INLINE_TWIML_LENGTH } from '../src/carriers/twilio/twiml.js';
import { flattenMetadata, MAX_SIP_HEADERS_LENGTH } from '../src/connect/call-context.js';
import { answerTwiml, connectTwiml, dialPlan } from '../src/connect/connect-plan.js';
import type { ConnectSettings } from '../src/connect/connect-settings.js';
import type { CallJobData } from '../src/jobs/call-jobs.js';

const settings: ConnectSettings = {
  defaultMode: 'say',
  agentDialTarget: 'sip:agent@voice.example.com',
  agentStreamUrl: 'wss://agent.example.com/twilio',
  answeringMachine: { onHuman: 'connect', onMachine: 'connect' },
  callbackBaseUrl: 'https://switchboard.example.com',
  plainWebSockets: false,
};

const call = (overrides: Partial<CallJobData> = {}): CallJobData => ({ to: '+14155550123', message: 'Hello from Switchboard', priority: 'normal', ...overrides });

/** Markup, quotes, entities, a CDATA end, non-Latin text and an emoji: what a CRM's data may hold. */
const HOSTILE = `</Say><Hangup/>"' & &amp; <![CDATA[ ]]> <!-- x --> Ünïcödé 名前 😀 \n\tend`;

const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, parseTagValue: false, parseAttributeValue: false, trimValues: false, htmlEntities: true });

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };
interface Element {
  name: string;
  attributes: Record<string, string>;
  text: string;
  children: Element[];
}

/** A TwiML document parsed as any XML reader would: it must be well-formed, with exactly one <Response>. */
function parse(twiml: string): Element {
  expect(XMLValidator.validate(twiml)).toBe(true);
  const toElement = (node: Node): Element => {
    const name = Object.keys(node).find((key) => key !== ':@')!;
    const content = (node[name] as Node[]) ?? [];
    return {
      name,
      attributes: node[':@'] ?? {},
      text: content.filter((child) => '#text' in child).map((child) => String(child['#text'])).join(''),
      children: content.filter((child) => !('#text' in child)).map(toElement),
    };
  };
  const roots = (parser.parse(twiml) as Node[]).filter((node) => !('?xml' in node)).map(toElement);
  expect(roots.map((root) => root.name)).toEqual(['Response']);
  return roots[0]!;
}

const shape = (element: Element): unknown => [element.name, element.children.map(shape)];
const parametersOf = (stream: Element) => Object.fromEntries(stream.children.map((parameter) => [parameter.attributes.name, parameter.attributes.value]));

/** The headers of a `<Sip>` URI, decoded as a SIP stack reads them. */
const sipHeadersOf = (uri: string) => Object.fromEntries([...new URLSearchParams(uri.split('?')[1] ?? '')]);

describe('the TwiML an outbound call is placed with, read back by an XML parser', () => {
  it('say: the message spoken, nothing else', () => {
    const response = parse(connectTwiml('call-1', call({ connect: 'say', message: HOSTILE }), settings));
    expect(shape(response)).toEqual(['Response', [['Say', []]]]);
    expect(response.children[0]!.text).toBe(HOSTILE);
  });

  it('stream: <Connect><Stream> to the agent with the lead id, job id, message and flattened metadata as <Parameter>s', () => {
    const metadata = { campaign: 'Q4', [HOSTILE]: HOSTILE, crm: { stage: 'new', tags: ['a', 'b'], score: 7, vip: true, note: null } };
    const response = parse(connectTwiml('call-1', call({ connect: 'stream', lead_id: 'lead-42', message: HOSTILE, metadata }), settings));
    expect(shape(response)).toEqual(['Response', [['Connect', [['Stream', expect.any(Array)]]]]]);
    const stream = response.children[0]!.children[0]!;
    expect(stream.attributes.url).toBe(settings.agentStreamUrl);
    expect(stream.children.every((child) => child.name === 'Parameter')).toBe(true);
    expect(parametersOf(stream)).toEqual({
      job_id: 'call-1',
      lead_id: 'lead-42',
      message: HOSTILE,
      'metadata.campaign': 'Q4',
      [`metadata.${HOSTILE}`]: HOSTILE,
      'metadata.crm.stage': 'new',
      'metadata.crm.tags.0': 'a',
      'metadata.crm.tags.1': 'b',
      'metadata.crm.score': '7',
      'metadata.crm.vip': 'true',
      'metadata.crm.note': 'null',
    });
  });

  it('stream: context XML cannot carry (control characters, lone surrogates) is left to the context endpoint, never sent broken', () => {
    const stream = parse(connectTwiml('call-1', call({ connect: 'stream', metadata: { bell: 'ring\u0007', 'nul\u0000': 'x', ok: 'fine' } }), settings)).children[0]!.children[0]!;
    expect(parametersOf(stream)).toEqual({ job_id: 'call-1', message: 'Hello from Switchboard', 'metadata.ok': 'fine', context_truncated: 'true' });
  });

  it('stream: a per-call streamUrl wins over AGENT_STREAM_URL, escaped as an attribute', () => {
    const streamUrl = 'wss://agent.example.com/twilio?tenant=a&key="b"';
    const stream = parse(connectTwiml('call-1', call({ connect: 'stream', streamUrl }), settings)).children[0]!.children[0]!;
    expect(stream.attributes.url).toBe(streamUrl);
  });

  it('stream: context past 4,000 characters of TwiML is cut at whole parameters and marked context_truncated', () => {
    const metadata = Object.fromEntries(Array.from({ length: 120 }, (_, index) => [`field${index}`, `value ${index} `.repeat(4)]));
    const twiml = connectTwiml('call-1', call({ connect: 'stream', lead_id: 'lead-42', metadata }), settings);
    expect(twiml.length).toBeLessThanOrEqual(MAX_INLINE_TWIML_LENGTH);
    const parameters = parametersOf(parse(twiml).children[0]!.children[0]!);
    expect(parameters).toMatchObject({ job_id: 'call-1', lead_id: 'lead-42', message: 'Hello from Switchboard', context_truncated: 'true' });
    const kept = Object.keys(parameters).filter((name) => name.startsWith('metadata.'));
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(120);
    // What is kept is exact: the first fields, whole.
    expect(kept.slice(0, 3)).toEqual(['metadata.field0', 'metadata.field1', 'metadata.field2']);
    expect(parameters['metadata.field0']).toBe(metadata.field0);
  });

  it('agent at a SIP URI: <Dial><Sip> with the context as X- headers, percent-encoded, within 1,024 characters', () => {
    const response = parse(connectTwiml('call-1', call({ connect: 'agent', lead_id: 'lead 42&x=1', message: HOSTILE, metadata: { campaign: 'Q4', 'not a header': 'x' } }), settings));
    expect(shape(response)).toEqual(['Response', [['Dial', [['Sip', []]]]]]);
    const uri = response.children[0]!.children[0]!.text;
    expect(uri.startsWith(`${settings.agentDialTarget}?`)).toBe(true);
    expect(uri.length - settings.agentDialTarget!.length - 1).toBeLessThanOrEqual(MAX_SIP_HEADERS_LENGTH);
    expect(sipHeadersOf(uri)).toEqual({
      'X-job_id': 'call-1',
      'X-lead_id': 'lead 42&x=1',
      'X-message': HOSTILE,
      'X-metadata.campaign': 'Q4',
      // A key SIP cannot name is left to the context endpoint.
      'X-context_truncated': 'true',
    });
  });

  it('agent at a SIP URI: a long message is left out rather than break the 1,024-character limit', () => {
    const uri = parse(connectTwiml('call-1', call({ connect: 'agent', lead_id: 'lead-42', message: 'word '.repeat(400) }), settings)).children[0]!.children[0]!.text;
    expect(sipHeadersOf(uri)).toEqual({ 'X-job_id': 'call-1', 'X-lead_id': 'lead-42', 'X-context_truncated': 'true' });
  });

  it('agent at a number: <Dial><Number>, the context read from GET /api/calls/context/:callSid', () => {
    const response = parse(connectTwiml('call-1', call({ connect: 'agent', agentTarget: '+14155550999', metadata: { campaign: 'Q4' } }), settings));
    expect(shape(response)).toEqual(['Response', [['Dial', [['Number', []]]]]]);
    expect(response.children[0]!.children[0]!.text).toBe('+14155550999');
  });

  it('voicemail: the voicemail message after the beep, then hang up; hangup: nothing but <Hangup/>', () => {
    const data = call({ connect: 'stream', answeringMachine: { onHuman: 'connect', onMachine: 'voicemail', voicemailMessage: HOSTILE } });
    const voicemail = parse(answerTwiml('voicemail', 'call-1', data, settings));
    expect(shape(voicemail)).toEqual(['Response', [['Say', []], ['Hangup', []]]]);
    expect(voicemail.children[0]!.text).toBe(HOSTILE);
    expect(shape(parse(answerTwiml('hangup', 'call-1', data, settings)))).toEqual(['Response', [['Hangup', []]]]);
  });

  it('any metadata and message: the stream TwiML is well-formed, within 4,000 characters, and every parameter it keeps is exact', () => {
    // Any code point, lone surrogates and controls XML cannot carry included, and text of whole characters.
    const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme', maxLength: 300 }));
    const metadata = fc.dictionary(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null), fc.array(text, { maxLength: 4 }), fc.dictionary(text, text, { maxKeys: 4 })), { maxKeys: 30 });
    fc.assert(
      fc.property(metadata, text.filter((message) => message.trim().length > 0), (meta, message) => {
        const twiml = connectTwiml('call-1', call({ connect: 'stream', message, metadata: meta, lead_id: 'lead-1' }), settings);
        expect(twiml.length).toBeLessThanOrEqual(MAX_INLINE_TWIML_LENGTH);
        const parameters = parametersOf(parse(twiml).children[0]!.children[0]!);
        const expected = Object.fromEntries([['job_id', 'call-1'], ['lead_id', 'lead-1'], ['message', message], ...flattenMetadata(meta)]);
        const kept = Object.entries(parameters).filter(([name]) => name !== 'context_truncated');
        for (const [name, value] of kept) expect(value).toBe(expected[name]);
        expect(parameters.job_id).toBe('call-1');
        expect('context_truncated' in parameters).toBe(kept.length < Object.keys(expected).length);
      }),
      { numRuns: 200 },
    );
  });
});

describe('how a call is dialed', () => {
  it('say with no answering-machine policy: inline TwiML, no detection, no slot', () => {
    expect(dialPlan('call-1', call({ connect: 'say' }), settings)).toEqual({ answer: { twiml: expect.stringContaining('<Say>') }, usesAgent: false });
  });

  it('agent or stream with a person connected at once: the agent starts at once, detection reported beside the call (AsyncAmd)', () => {
    const plan = dialPlan('call-1', call({ connect: 'stream', answeringMachine: { onHuman: 'connect', onMachine: 'voicemail' } }), settings);
    expect(plan).toEqual({
      answer: { twiml: expect.stringContaining('<Connect><Stream') },
      machineDetection: 'DetectMessageEnd',
      asyncAmdCallbackUrl: 'https://switchboard.example.com/webhooks/twilio/outbound-answer?jobId=call-1',
      usesAgent: true,
    });
  });

  it('say with a policy: detection first, then the answer webhook chooses the TwiML; still no slot', () => {
    expect(dialPlan('call-1', call({ connect: 'say', answeringMachine: { onHuman: 'connect', onMachine: 'hangup' } }), settings)).toEqual({
      answer: { url: 'https://switchboard.example.com/webhooks/twilio/outbound-answer?jobId=call-1' },
      machineDetection: 'Enable',
      usesAgent: false,
    });
  });

  it('a policy that never connects holds no slot', () => {
    expect(dialPlan('call-1', call({ connect: 'agent', answeringMachine: { onHuman: 'voicemail', onMachine: 'hangup' } }), settings).usesAgent).toBe(false);
  });
});
