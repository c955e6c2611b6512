/** The choices a call names, read by configuration and the job catalog alike. */

/** Outcomes a redial policy may name; `machine` is a call an answering machine took (voicemail left, or hung up on). */
export const REDIAL_OUTCOMES = ['busy', 'no-answer', 'failed', 'machine'] as const;
export type RedialOutcome = (typeof REDIAL_OUTCOMES)[number];

/** What an answered call does: speak the message, bridge to the voice agent, or stream to it (Media Streams). */
export const CONNECT_MODES = ['say', 'agent', 'stream'] as const;
export type ConnectMode = (typeof CONNECT_MODES)[number];

/** What to do once it is known who answered: the call's connect mode, a voicemail after the beep, or hang up. */
export const ANSWER_ACTIONS = ['connect', 'voicemail', 'hangup'] as const;
export type AnswerAction = (typeof ANSWER_ACTIONS)[number];
