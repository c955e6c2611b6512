import twilio from 'twilio';

/** Twilio accepts at most this many characters of inline TwiML on `POST /Calls`. */
export const MAX_INLINE_TWIML_LENGTH = 4000;

/** TwiML that speaks `message`; the builder escapes every character that could form markup. */
export function sayTwiml(message: string): string {
  const response = new twilio.twiml.VoiceResponse();
  response.say(message);
  return response.toString();
}

export function fitsInlineTwiml(message: string): boolean {
  return sayTwiml(message).length <= MAX_INLINE_TWIML_LENGTH;
}
