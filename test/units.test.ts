import { describe, expect, it } from 'vitest';
import { maskNumber } from '../src/lib/mask-number.js';
import { redisUnavailableReason } from '../src/lib/redis.js';
import { toE164 } from '../src/lib/phone-number.js';
import { fitsInlineTwiml, MAX_INLINE_TWIML_LENGTH, sayTwiml } from '../src/carriers/twilio/twiml.js';

describe('toE164', () => {
  it.each([
    ['+14155550123', '+14155550123'],
    ['+1 (415) 555-0123', '+14155550123'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ])('normalises %s', (input, expected) => expect(toE164(input)).toBe(expected));

  it.each(['+1234567890', '+0987654321', '4155550123', '+1415555012', '+1-800-FLOWERS', '', '+'])('rejects %s', (input) =>
    expect(toE164(input)).toBeUndefined(),
  );
});

describe('sayTwiml', () => {
  it('escapes markup so a message cannot add verbs', () => {
    expect(sayTwiml('</Say><Dial>+15551234567</Dial><Say>')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><Response><Say>&lt;/Say&gt;&lt;Dial&gt;+15551234567&lt;/Dial&gt;&lt;Say&gt;</Say></Response>',
    );
  });

  it('measures the escaped length against Twilio\'s inline limit', () => {
    expect(fitsInlineTwiml('a'.repeat(3000))).toBe(true);
    expect(fitsInlineTwiml('&'.repeat(1000))).toBe(false);
  });

  it('answers as building the TwiML would, for short and long messages of every escaping', () => {
    for (const unit of ['a', '&', '<', '\r', 'é', '😀']) {
      for (const length of [1, 100, 700, 790, 800, 1000, 1500, 3900, 3950]) {
        const message = unit.repeat(Math.ceil(length / unit.length));
        expect(fitsInlineTwiml(message), `${length} × ${JSON.stringify(unit)}`).toBe(sayTwiml(message).length <= MAX_INLINE_TWIML_LENGTH);
      }
    }
  });
});

describe('maskNumber', () => {
  it('keeps the country code and the last two digits', () => expect(maskNumber('+14155550123')).toBe('+141******23'));
});


describe('redisUnavailableReason', () => {
  const systemError = (code: string, syscall: string) => Object.assign(new Error(`${syscall} ${code}`), { code, syscall });

  it('takes a connection refused, reset or written to as Redis went away for Redis being unreachable', () => {
    for (const [code, syscall] of [['ECONNREFUSED', 'connect'], ['ECONNRESET', 'read'], ['EPIPE', 'write']] as const) {
      expect(redisUnavailableReason(systemError(code, syscall)), code).toBe('unreachable');
    }
  });

  it("leaves a command's own error to the command", () => {
    expect(redisUnavailableReason(new Error('ERR wrong number of arguments for \'hget\' command'))).toBeUndefined();
    expect(redisUnavailableReason(new Error('READONLY You can\'t write against a read only replica.'))).toBe('switching');
  });
});
