"""The Socket.IO namespace: sign-in on connect, joining and leaving rooms, and readings from meter clients."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import socketio  # type: ignore[import-untyped]
from sqlalchemy.exc import SQLAlchemyError

from hes.db.enums import ReadingSource
from hes.errors import AuthenticationFailed, InvalidInput, PermissionDenied
from hes.ingest.errors import IngestError
from hes.ingest.intake import SenderScope, take_in
from hes.realtime import access, device
from hes.realtime.events import ClientEvent
from hes.realtime.payloads import Wire
from hes.realtime.rooms import parse_room
from hes.runtime import Runtime
from hes.services import auth, device_tokens
from hes.services.principal import Principal

logger = logging.getLogger(__name__)

# A browser watching more rooms than this is better served by an area room or `all`; the limit keeps one
# client from making the server hold an unbounded room list.
MAX_ROOMS_PER_CLIENT = 500
_CLIENT_KEY = "client"
_UNAVAILABLE = "service unavailable; retry later"


@dataclass(frozen=True, slots=True)
class _UserClient:
    principal: Principal
    token: str  # kept to re-check expiry and revocation on each join


@dataclass(frozen=True, slots=True)
class _DeviceClient:
    token: str  # re-checked on each update (cached, forgotten on revocation), so a revoked token stops at once


_Client = _UserClient | _DeviceClient


class HesNamespace(socketio.AsyncNamespace):  # type: ignore[misc]  # python-socketio ships no type hints
    """Handlers of the default namespace; client event `a-b` is handled by `on_a_b`."""

    def __init__(self, runtime: Runtime, namespace: str = "/") -> None:
        super().__init__(namespace)
        self._runtime = runtime

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Route catalogued client events to their handlers; anything else is ignored."""
        if event == "connect":
            # A connected client could send an event named "connect" as a message; it gets nothing.
            if await self._client(args[0]) is not None:
                return None
            return await super().trigger_event(event, *args)
        if event == "disconnect":
            return await super().trigger_event(event, *args)
        try:
            client_event = ClientEvent(event)
        except ValueError:
            logger.debug("ignored unknown Socket.IO event %r", event[:40] if isinstance(event, str) else event)
            return None
        return await super().trigger_event(client_event.handler_name.removeprefix("on_"), *args)

    async def on_connect(self, sid: str, environ: Mapping[str, Any], auth_data: object = None) -> None:
        """Accept a user's access token (auth `token` or Authorization header) or a meter's `deviceToken`.

        Raises:
            socketio.exceptions.ConnectionRefusedError: missing, invalid, expired or revoked credentials, an
                inactive account, or the database unreachable; the reason goes back to the client.
        """
        credentials = auth_data if isinstance(auth_data, Mapping) else {}
        try:
            client = await self._sign_in(credentials, environ)
        except AuthenticationFailed as error:
            raise socketio.exceptions.ConnectionRefusedError(error.message) from None
        except (SQLAlchemyError, OSError):
            logger.exception("Socket.IO sign-in failed on the database")
            raise socketio.exceptions.ConnectionRefusedError(_UNAVAILABLE) from None
        await self.save_session(sid, {_CLIENT_KEY: client})

    async def on_disconnect(self, sid: str, reason: object = None) -> None:
        """Nothing to release: python-socketio drops the client's rooms."""

    async def on_join_room(self, sid: str, data: object = None, *_extra: object) -> Wire:
        """Join a room the user may see; ack `{ok, error, room}` with the room's canonical name."""
        client = await self._client(sid)
        if not isinstance(client, _UserClient):
            return _room_answer(None, "only signed-in users join rooms")
        name = _room_name(data)
        room = parse_room(name) if name is not None else None
        if room is None:
            return _room_answer(None, "unknown room; use meter-{id}, area-{code} or all")
        if len(self.server.rooms(sid, namespace=self.namespace)) > MAX_ROOMS_PER_CLIENT:
            return _room_answer(None, f"at most {MAX_ROOMS_PER_CLIENT} rooms per connection")
        try:
            async with self._runtime.sessions() as session:
                # The token is checked again: an expired token or a disabled account joins nothing new.
                principal = await auth.principal_for(session, self._runtime.settings, client.token)
                canonical = await access.room_for(session, principal, room)
        except (AuthenticationFailed, PermissionDenied) as error:
            return _room_answer(None, error.message)
        except (SQLAlchemyError, OSError):
            logger.exception("join-room failed on the database")
            return _room_answer(None, _UNAVAILABLE)
        await self.enter_room(sid, canonical)
        return _room_answer(canonical, None)

    async def on_leave_room(self, sid: str, data: object = None, *_extra: object) -> Wire:
        """Leave a room (leaving one not joined is not an error); ack `{ok, error, room}`."""
        name = _room_name(data)
        if name is None or parse_room(name) is None:
            return _room_answer(None, "unknown room; use meter-{id}, area-{code} or all")
        await self.leave_room(sid, name)
        return _room_answer(name, None)

    async def on_meter_update(self, sid: str, data: object = None, *_extra: object) -> Wire:
        """Readings from a meter client, through the one ingest path (`take_in`); ack once durable.

        The ack is `{accepted, duplicates, rejected: [{index, reason}], error}`; `index` is the reading's position
        in the message, `reason` says what is wrong with an item that is no reading, or is the ingest path's code
        (as HTTP and MQTT report it: unknown_meter, meter_not_allowed, unknown_obis, naive_timestamp, ...). With an
        `error` nothing was stored and the meter should send again.
        """
        client = await self._client(sid)
        if not isinstance(client, _DeviceClient):
            return device.ack(error="meter-update needs a device token")
        try:
            scope = await self._sender(client.token)
            update = device.readings_from_update(data)
        except AuthenticationFailed as error:
            return device.ack(error=error.message)
        except InvalidInput as error:
            details = "; ".join(problem.message for problem in error.problems)
            return device.ack(error=f"{error.message}: {details}" if details else error.message)
        except (SQLAlchemyError, OSError):
            logger.exception("meter-update: the device token could not be checked")
            return device.ack(error=_UNAVAILABLE)
        if not update.readings.meter_numbers:
            return device.ack(rejected=update.rejected)
        try:
            result = await take_in(self._runtime.ingestor, scope, update.readings, source=ReadingSource.SOCKETIO)
        except IngestError as error:  # overloaded, database unavailable, shutting down: the meter retries
            return device.ack(rejected=update.rejected, error=error.message)
        except Exception:  # the meter must hear that nothing was stored, whatever the cause, to send again
            logger.exception("meter-update: ingest failed for %d readings", len(update.readings.meter_numbers))
            return device.ack(rejected=update.rejected, error="not stored; retry later")
        return device.stored_ack(update, result)

    async def _sign_in(self, credentials: Mapping[str, object], environ: Mapping[str, Any]) -> _Client:
        device_token = credentials.get("deviceToken")
        if device_token is not None:
            if not isinstance(device_token, str) or not device_token:
                raise AuthenticationFailed("missing device token")
            await self._sender(device_token)
            return _DeviceClient(device_token)
        token = _user_token(credentials, environ)
        async with self._runtime.sessions() as session:
            principal = await auth.principal_for(session, self._runtime.settings, token)
        return _UserClient(principal, token)

    async def _sender(self, device_token: str) -> SenderScope:
        """The meters the device token may send for, as HTTP and MQTT check it (cached; revocation is at once)."""
        return await device_tokens.authenticate(self._runtime.sessions, self._runtime.device_tokens, device_token)

    async def _client(self, sid: str) -> _Client | None:
        stored = await self.get_session(sid)
        client = stored.get(_CLIENT_KEY) if isinstance(stored, dict) else None
        return client if isinstance(client, _UserClient | _DeviceClient) else None


def _user_token(credentials: Mapping[str, object], environ: Mapping[str, Any]) -> str:
    token = credentials.get("token")
    if isinstance(token, str) and token:
        return token.removeprefix("Bearer ").strip()
    header = environ.get("HTTP_AUTHORIZATION")
    if isinstance(header, str):
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    raise AuthenticationFailed("missing access token")


def _room_name(data: object) -> str | None:
    if isinstance(data, Mapping):
        data = data.get("room")
    return data if isinstance(data, str) else None


def _room_answer(room: str | None, error: str | None) -> Wire:
    return {"ok": error is None, "error": error, "room": room}
