"""Many concurrent calls of one Lua script, sent to Redis together, acknowledged together.

The receiver runs one script per webhook. Under load, the calls made while the event loop is
busy go to Redis as one non-transactional pipeline of EVALSHAs (one write, one read) instead
of one round trip each: measured -41 % server CPU per webhook and x1.4-1.7 requests/s
(bench/findings.md). Each call is still its own atomic script with its own result or error;
a pipeline that fails fails only its own callers (who answer 503, as for any Redis error).

With `[redis] ack` above "written", the acknowledgement (WAIT or WAITAOF, `Ack.command`) is
the pipeline's last command. It has to be: both report on the writes of the connection they
are sent on, and a pipeline holds one connection for all its commands, so the ack covers
exactly the scripts of the batch. When it is not reached in time every caller of the batch
gets the error (`AckNotMet`, a RedisError: the receiver answers 503 and the sender retries),
because none of their writes is known to be where a 2xx would promise.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import redis.asyncio as aredis
from redis.exceptions import NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from relay.core.connections import Ack

#: one call: its EVALSHA, packed (RESP), and the future its caller awaits
Call = tuple[bytes, "asyncio.Future[Any]"]
Arg = str | bytes | int


def bulk(arg: Arg) -> bytes:
    """One argument as a RESP bulk string."""
    if isinstance(arg, str):
        data = arg.encode()
    elif isinstance(arg, bytes):
        data = arg
    else:
        data = b"%d" % arg
    return b"$%d\r\n%b\r\n" % (len(data), data)


class Args:
    """A run of arguments packed once, for those that are the same in every call (a hook's
    keys, its targets' debounce settings): the hot path then packs only what changes."""

    __slots__ = ("count", "data")

    def __init__(self, *args: Arg) -> None:
        self.data = b"".join(bulk(arg) for arg in args)
        self.count = len(args)


class ScriptBatcher:
    """One Lua script for many concurrent callers: the calls made while the event loop is busy
    go to Redis as one pipeline (one write, one read), followed by the ack when one is asked
    for. Each call is still its own atomic EVALSHA with its own result or error; a pipeline
    that fails fails only its own callers."""

    def __init__(self, client: aredis.Redis, script: str, ack: Ack | None = None) -> None:
        self.client = client
        self.script = client.register_script(script)
        self.source = script
        self.evalsha = bulk(b"EVALSHA") + bulk(self.script.sha)
        self.ack = ack
        self.pending: list[Call] = []
        self.tasks: set[asyncio.Task[None]] = set()

    async def __call__(self, numkeys: int, args: list[Arg | Args]) -> Any:
        """Run the script with `args` (its `numkeys` keys, then its arguments; an `Args` is
        a packed run of them) in the next batch; its result, or its error raised."""
        count = 3
        parts = [self.evalsha, bulk(numkeys)]
        for arg in args:
            if isinstance(arg, Args):
                parts.append(arg.data)
                count += arg.count
            else:
                parts.append(bulk(arg))
                count += 1
        command = b"*%d\r\n%b" % (count, b"".join(parts))
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self.pending:
            # runs on the loop's next turn, after every handler already ready in this one
            task = loop.create_task(self._flush())
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        self.pending.append((command, future))
        return await future

    async def _flush(self) -> None:
        batch, self.pending = self.pending, []
        results = await self._run(batch, load=False)
        missing = [i for i, result in enumerate(results) if isinstance(result, NoScriptError)]
        if missing:  # the script cache was flushed (a restart, a failover): load it, run again
            again = await self._run([batch[i] for i in missing], load=True)
            for i, result in zip(missing, again, strict=True):
                results[i] = result
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def _run(self, calls: list[Call], *, load: bool) -> list[Any]:
        """One write: [SCRIPT LOAD,] the EVALSHAs, [the ack]; then one reply each. One result
        (or exception) per call; a call whose script ran gets the ack's failure instead when
        it has one. The commands come packed (`__call__`, `bulk`) and sent on one connection of the
        client's pool: redis-py's pipeline packs each argument through its encoder, which
        was an eighth of the receiver's CPU (bench/profile.py)."""
        commands = [b"*3\r\n" + bulk(b"SCRIPT") + bulk(b"LOAD") + bulk(self.source)] if load else []
        commands += [command for command, _ in calls]
        if self.ack is not None:
            ack = self.ack.command
            commands.append(b"*%d\r\n%b" % (len(ack), b"".join(bulk(arg) for arg in ack)))
        pool = self.client.connection_pool
        try:
            connection = await pool.get_connection()  # type: ignore[no-untyped-call]
        except Exception as exc:
            return [exc] * len(calls)
        replies: list[Any] = []
        try:
            await connection.send_packed_command(b"".join(commands), check_health=False)
            # one deadline for all the replies (the client's socket timeout), not one each
            async with asyncio.timeout(connection.socket_timeout):
                for _ in commands:
                    try:
                        replies.append(await connection.read_response(timeout=math.inf))
                    except ResponseError as exc:  # this command's own error; the rest come
                        replies.append(exc)
        except Exception as exc:  # the connection failed or timed out: every call fails
            await connection.disconnect(nowait=True)
            if isinstance(exc, asyncio.TimeoutError):
                exc = RedisTimeoutError("Timeout reading the batch's replies")
            return [exc] * len(calls)
        finally:
            await pool.release(connection)
        if load:
            replies = replies[1:]
        if self.ack is None:
            return replies
        failure = self.ack.failure(replies[-1])
        replies = replies[:-1]
        if failure is None:
            return replies
        # a call's own error stays (a NoScriptError is run again, with an ack of its own)
        return [r if isinstance(r, Exception) else failure for r in replies]


def _settle(future: asyncio.Future[Any], result: Any) -> None:
    if future.done():  # the caller went away (the request was cancelled)
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
