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

/** Connects the call to the voice agent: `<Number>` for a phone number, `<Sip>` for a SIP URI. */
export function dialAgent(response: InstanceType<typeof twilio.twiml.VoiceResponse>, target: string, action?: string) {
  const dial = response.dial(action ? { action, method: 'POST' } : {});
  if (target.startsWith('sip:') || target.startsWith('sips:')) dial.sip(target);
  else dial.number(target);
}

/** Speaks `message`, then connects the called person to the agent: what a callback plays. */
export function sayThenDialTwiml(message: string, target: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(message);
  dialAgent(response, target);
  return response.toString();
}
