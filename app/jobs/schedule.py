"""Every periodic job, declared in one place for RQ's cron scheduler.

Cron strings, not intervals: an interval job fires again at every scheduler
start, a cron string only at its time. Run exactly one scheduler process.
"""
from ..notify.sweep import sweep_reminders
from . import QUEUE_NAME
from .billing import reconcile_billing, remind_trials_ending
from .spares import top_up_spares
from .summaries import refresh_all_summaries

SCHEDULE = [
    # (function, cron string, why)
    (refresh_all_summaries, "5 0 * * *", "tasks fall overdue at midnight without any write"),
    (top_up_spares, "*/15 * * * *", "a top-up queued after a client creation may have been lost"),
    (reconcile_billing, "40 2 * * *", "a lost webhook or a change in Stripe's dashboard leaves a consultancy's "
                                      "subscription out of step with Stripe"),
    (remind_trials_ending, "10 7 * * *", "a free trial (no card, so no Stripe subscription to send trial_will_end) "
                                         "ends as days pass; its owners hear three days ahead"),
    (sweep_reminders, "*/15 * * * *", "reminders fall due as days pass; morning briefs go out at each "
                                      "consultant's local hour; a lost send job is queued again"),
]


def register_schedule(scheduler) -> None:
    for func, cron, _why in SCHEDULE:
        scheduler.register(func, QUEUE_NAME, cron=cron, name=func.__name__)
