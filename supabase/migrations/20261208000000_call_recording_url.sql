-- Where a recorded call's recordings are: Twilio's list of the call's recordings (read with the
-- account's credentials), set once the call is placed when the call asked to be recorded.

alter table public.call_logs add column if not exists recording_url text;

comment on column public.call_logs.recording_url is 'The call''s recordings at Twilio, when the call was recorded';
