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

export function fitsInlineTwiml(message: string): boolean {
  return isSpeakable(message) && sayTwiml(message).length <= MAX_INLINE_TWIML_LENGTH;
}
