-- How each call ended as an operator reads it, and how it reached the voice agent.
-- outcome: the final status (completed, busy, no-answer, failed, canceled), or voicemail-left /
-- machine-hangup when an answering machine took the call and its policy left a voicemail or hung up
-- (the carrier reports both as completed). Null until the call ends.
-- connect_mode: say (the message is spoken), agent (bridged to the voice agent) or stream (Media Streams).

alter table public.call_logs add column if not exists outcome text;
alter table public.call_logs add column if not exists connect_mode text not null default 'say';

comment on column public.call_logs.outcome is 'completed, busy, no-answer, failed, canceled, voicemail-left or machine-hangup; null until the call ends';
comment on column public.call_logs.connect_mode is 'say, agent or stream';

create index if not exists call_logs_outcome_time_idx on public.call_logs (outcome, created_at desc) where outcome is not null;
