-- The contactability gate's decisions in the call log. An attempt the gate held back is a row with
-- status `deferred` (and when it may be dialed, `deferred_until`); one it refused for good is
-- `blocked`; both say why in `reason`: window, frequency-cap, min-gap, dnc, expired or no-window.

alter table public.call_logs add column if not exists reason text;
alter table public.call_logs add column if not exists deferred_until timestamptz;

comment on column public.call_logs.reason is 'Why the contactability gate deferred or blocked the attempt';
comment on column public.call_logs.deferred_until is 'When a deferred attempt may be dialed';
