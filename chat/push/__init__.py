"""
Push notifications for members who have no socket open (docs/push.md).

    devices.py     registering, listing and removing a user's devices (Web Push, FCM)
    recipients.py  who gets a push for a message: plain Python, no I/O
    payload.py     what a push carries
    senders.py     one push to one device over HTTP: Web Push (pywebpush) or FCM (HTTP v1)
    queue.py       the durable queue (Dramatiq): one job per message, one per device
    api.py         /api/devices/

``chat.messages.send`` queues one job per message once its
transaction commits; the worker (``manage.py push_worker``, or a thread of
the server on the embedded default) decides who gets it and sends.
"""
