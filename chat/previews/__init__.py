"""
Link previews (docs/webhooks.md, "Link previews"): the first http(s) URL of
a message, fetched by the worker through core.outbound, its title,
description and image stored on the message (``ConversationMessage.preview``)
and announced as ``chat.message.updated``. Off unless CHAT_LINK_PREVIEWS.

    parse.py     the URL a message previews, and a page's preview from its HTML: plain Python
    services.py  queueing a fetch (from the send and edit services), storing its result
    fetch.py     the queued job (chat.push.queue's broker): fetch, parse, store
"""
