"""
The real-time layer, in plain Python: what the socket consumers
(chat/sockets/) and the services (chat/conversations/, chat/messages/, ...) share.

| module | what it decides |
|---|---|
| ``groups`` | the names of the channel-layer groups and who follows which |
| ``events`` | a saved change becomes its event (and its frames' JSON) once |
| ``outbox`` | events wait for their transaction to commit, then are published |
| ``commands`` | a client frame becomes a typed, validated command |
| ``profiles`` | which events a kind of client gets (``accepts``) |
| ``session`` | one socket's delivered seq, gap filling and presence view |
| ``throttle`` | how often a typing notice is relayed |
| ``presence`` | who is online (in memory, or Redis for several processes) |
| ``heartbeat`` | the one task per process that keeps its sockets' presence fresh |

Only ``outbox.publish`` and ``heartbeat`` touch the channel layer or the
event loop; everything else is unit-tested without Channels.
"""
