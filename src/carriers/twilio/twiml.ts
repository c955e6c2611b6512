import twilio from 'twilio';

/** Twilio accepts at most this many characters of inline TwiML on `POST /Calls`. */
export const MAX_INLINE_TWIML_LENGTH = 4000;

/** TwiML that speaks `message`; the builder escapes every character that could form markup. */
export function sayTwiml(message: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(message);
  return response.toString();
}

/** Characters XML 1.0 cannot carry at all, escaped or not: most C0 controls, lone surrogates, U+FFFE/F. */
const NOT_XML = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

export function isSpeakable(message: string): boolean {
  return !NOT_XML.test(message);
}

/** The `<Response><Say>` wrapper and XML declaration around a message, and the most one character can grow when escaped (`&` -> `&amp;`). */
const SAY_OVERHEAD = sayTwiml('a').length - 1;
const MAX_ESCAPE_GROWTH = 5;

export function fitsInlineTwiml(message: string): boolean {
  if (!isSpeakable(message)) return false;
  // Most messages fit whatever they contain: building the TwiML is only needed near the limit.
  if (SAY_OVERHEAD + message.length * MAX_ESCAPE_GROWTH <= MAX_INLINE_TWIML_LENGTH) return true;
  return sayTwiml(message).length <= MAX_INLINE_TWIML_LENGTH;
}

/** Connects the call to the voice agent: `<Number>` for a phone number, `<Sip>` for a SIP URI (carrying `headers`). */
export function dialAgent(response: InstanceType<typeof twilio.twiml.VoiceResponse>, target: string, action?: string, headers: readonly ContextEntry[] = []) {
  const dial = response.dial(action ? { action, method: 'POST' } : {});
  if (isSipTarget(target)) dial.sip(sipUriWithHeaders(target, headers));
  else dial.number(target);
}

/** Speaks `message`, then connects the called person to the agent: what a callback plays. */
export function sayThenDialTwiml(message: string, target: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(message);
  dialAgent(response, target);
  return response.toString();
}

/** A name and value the agent receives with the call: a Stream `<Parameter>`, or a SIP `X-` header. */
export type ContextEntry = readonly [name: string, value: string];

/** Connects the call to a Media Streams WebSocket, the lead's context as `<Parameter>`s of its `start` message. */
export function streamTwiml(url: string, parameters: readonly ContextEntry[]): string {
  const response = new twilio.twiml.VoiceResponse();
  const stream = response.connect().stream({ url });
  for (const [name, value] of parameters) stream.parameter({ name, value });
  return response.toString();
}

/** A SIP URI with custom headers, as `<Sip>` takes them: `sip:agent@host?X-Name=value&...`, each value percent-encoded. */
export function sipUriWithHeaders(uri: string, headers: readonly ContextEntry[]): string {
  if (headers.length === 0) return uri;
  const query = headers.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
  return `${uri}${uri.includes('?') ? '&' : '?'}${query}`;
}

/** Bridges the call to the agent: a number, or a SIP URI carrying `headers`. */
export function dialTwiml(target: string, headers: readonly ContextEntry[] = []): string {
  const response = new twilio.twiml.VoiceResponse();
  dialAgent(response, target, undefined, headers);
  return response.toString();
}

/** Speaks `message`, then hangs up: a voicemail left after the beep. */
export function sayThenHangupTwiml(message: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(message);
  response.hangup();
  return response.toString();
}

export function hangupTwiml(): string {
  const response = new twilio.twiml.VoiceResponse();
  response.hangup();
  return response.toString();
}

/** Nothing more to do: what a webhook whose answer Twilio ignores sends back. */
export function emptyTwiml(): string {
  return new twilio.twiml.VoiceResponse().toString();
}

export const isSipTarget = (target: string) => target.startsWith('sip:') || target.startsWith('sips:');

/** Speaks `message` and a prompt while listening for one key, posted to `action`: an opt-out offer. */
export function sayWithKeypressTwiml(message: string, prompt: string, action: string): string {
  const response = new twilio.twiml.VoiceResponse();
  const gather = response.gather({ numDigits: 1, action, method: 'POST', timeout: 3, actionOnEmptyResult: false });
  gather.say(message);
  gather.say(prompt);
  return response.toString();
}
