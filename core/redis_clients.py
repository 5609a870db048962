"""
redis.asyncio clients for code that may run on more than one event loop (the
server's, and the temporary ones ``async_to_sync`` makes for REST and
tests): a client belongs to the loop that made it, so there is one per loop,
made on first use there, with its Lua scripts registered once.

    redis = RedisPerLoop(url, socket_timeout=2)
    await redis.client().zcard(key)
    await redis.script(LUA)(keys=[key], args=[...])
"""

import asyncio


class RedisPerLoop:
    def __init__(self, url: str, **pool_options):
        self.url = url
        self.pool_options = pool_options
        self._clients: dict[asyncio.AbstractEventLoop, tuple[object, dict]] = {}

    def client(self):
        """This loop's client, on a blocking pool (a burst waits for a free connection rather than failing)."""
        return self._entry()[0]

    def script(self, lua: str):
        """``lua`` registered on this loop's client (sent by hash, reloaded if Redis forgot it)."""
        client, scripts = self._entry()
        script = scripts.get(lua)
        if script is None:
            script = scripts[lua] = client.register_script(lua)
        return script

    async def aclose(self) -> None:
        """Close every client (tests and shutdown)."""
        for client, _ in self._clients.values():
            await client.aclose()
        self._clients.clear()

    def _entry(self) -> tuple[object, dict]:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        entry = self._clients.get(loop)
        if entry is None:
            for old_loop in [old for old in self._clients if old.is_closed()]:
                del self._clients[old_loop]
            pool = redis.asyncio.BlockingConnectionPool.from_url(self.url, **self.pool_options)
            entry = self._clients[loop] = (redis.asyncio.Redis(connection_pool=pool), {})
        return entry
