"""
Outgoing webhooks (docs/webhooks.md): a conversation's events posted, signed,
to a receiver its owner or admins chose, or those of every conversation a
user belongs to (staff, for an integration or a bot account).

    services.py   subscribe, change, rotate the secret, delete (with the outbound URL rules, core.outbound)
    selectors.py  the subscriptions one may manage, a subscription's recent deliveries
    emit.py       what the services that announce an event call: one job per event, after commit, when any
                  subscription may want it
    jobs.py       the queued work (chat.push.queue's broker): fan an event out to its subscriptions, then
                  deliver, sign, log, retry with backoff, drop and count
    api.py        /api/webhooks/
"""
