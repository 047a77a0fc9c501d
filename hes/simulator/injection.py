"""Fault injection decisions, sans-IO: what a faulty meter does with a connection and with each of its answers.

`MeterFaults` holds one meter's faults (hes.simulator.faults) and a random generator seeded from the meter's
seed, so a run is repeatable. The asyncio drivers ask it:
- `admit()` when a connection reaches the meter: False means hang up at once (flapping, every other connection);
- `lifetime()`: how long a connection may last (flapping period), or None;
- `deliver(answer)` for each answer: a `Delivery` saying how long to wait, how fast to write, which octets (the
  answer, garbage, half of it, or nothing) and whether to close the connection after them.

Nothing here reads a socket or sleeps; the DLMS core is untouched (it only sees the requests, never the faults).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from hes.simulator.dlms.apdu import ApduTag
from hes.simulator.dlms.errors import DlmsError
from hes.simulator.dlms.hdlc_frame import LLC_RESPONSE, MAX_INFO_FIELD, HdlcFrameReader
from hes.simulator.dlms.security import decipher_apdu, is_ciphered
from hes.simulator.faults import Fault, FaultKind
from hes.simulator.meter import Answer

__all__ = ["Delivery", "MeterFaults", "is_partial"]

_GET_RESPONSE_WITH_DATABLOCK = 0x02  # Get-Response CHOICE [2] (IEC 62056-5-3 8.5)
# The top bit set on the first garbage octet: never 0x00 (a wrapper version's first octet) nor 0x7E (an HDLC
# flag), so garbage can never start a valid frame by chance.
_NOT_A_FRAME_START = 0x80


@dataclass(frozen=True, slots=True)
class Delivery:
    """What the driver does with one answer: wait `delay` s, send `data` (`seconds_per_byte` apart), maybe close."""

    data: bytes
    delay: float = 0.0
    seconds_per_byte: float = 0.0
    close: bool = False


class MeterFaults:
    """The faults of one meter at run time; `MeterFaults(())` is a healthy meter."""

    def __init__(self, faults: Sequence[Fault], seed: int = 0) -> None:
        self._faults = {fault.kind: fault for fault in faults}
        self._seed = seed
        self._connections = 0

    @cached_property
    def _random(self) -> random.Random:
        # Made on first use: most meters are healthy, and a Random costs ~2.5 KiB (25 MiB for 10,000 meters).
        return random.Random(self._seed)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def has(self, kind: FaultKind) -> bool:
        """Whether the meter has a fault of this kind."""
        return kind in self._faults

    def admit(self) -> bool:
        """Whether the meter keeps a new connection (a flapping meter refuses every other one, the 2nd, 4th...)."""
        self._connections += 1
        flapping = self._faults.get(FaultKind.FLAPPING)
        return not (flapping is not None and flapping.every_other and self._connections % 2 == 0)

    def lifetime(self) -> float | None:
        """Seconds a connection may last before the meter closes it (flapping), or None for no limit."""
        flapping = self._faults.get(FaultKind.FLAPPING)
        return flapping.period_s if flapping is not None and flapping.period_s else None

    def deliver(self, answer: Answer) -> Delivery:
        """How to send `answer` (possibly not at all)."""
        faults = self._faults
        if not faults:
            return Delivery(answer.data)
        if FaultKind.NO_ANSWER in faults:
            return Delivery(b"")
        delay = 0.0
        latency = faults.get(FaultKind.LATENCY)
        if latency is not None:
            spread = self._random.uniform(-latency.jitter_ms, latency.jitter_ms)
            delay += max(0.0, latency.latency_ms + spread) / 1000
        late = faults.get(FaultKind.LATE_ANSWER)
        if late is not None:
            delay += late.delay_s
        slow = faults.get(FaultKind.SLOW)
        per_byte = slow.ms_per_byte / 1000 if slow is not None else 0.0
        close = FaultKind.DROP_MID_BLOCK in faults and is_partial(answer)
        return Delivery(self._spoil(answer.data), delay, per_byte, close)

    def _spoil(self, data: bytes) -> bytes:
        garbage = self._faults.get(FaultKind.GARBAGE)
        if garbage is not None and self._random.random() < garbage.rate:
            noise = bytearray(self._random.randbytes(len(data)))
            if noise:
                noise[0] |= _NOT_A_FRAME_START
            return bytes(noise)
        truncated = self._faults.get(FaultKind.TRUNCATED)
        if truncated is not None and self._random.random() < truncated.rate:
            return data[: len(data) // 2]
        return data


def is_partial(answer: Answer) -> bool:
    """Whether `answer` is one part of a longer answer: a GET-Response block that is not the last (IEC 62056-5-3
    9.4.6.4, deciphered with the meter's keys when ciphered), or an HDLC frame with more segments to follow
    (IEC 62056-46: the segmentation bit)."""
    if answer.apdu is not None:
        return _is_partial_get(answer, answer.apdu)
    reader = HdlcFrameReader(MAX_INFO_FIELD)
    reader.receive_data(answer.data)
    try:
        while (frame := reader.next_frame()) is not None:
            if frame.segmented:
                return True
            if frame.information.startswith(LLC_RESPONSE) and _is_partial_get(
                answer, frame.information[len(LLC_RESPONSE) :]
            ):
                return True
    except DlmsError:
        return False
    return False


def _is_partial_get(answer: Answer, apdu: bytes) -> bool:
    if apdu and is_ciphered(apdu[0]):
        apdu = _deciphered(answer, apdu)
    # Get-Response-With-Datablock: tag, choice, invoke id, last-block (BOOLEAN), block number...
    return (
        len(apdu) > 3 and apdu[0] == ApduTag.GET_RESPONSE and apdu[1] == _GET_RESPONSE_WITH_DATABLOCK and apdu[3] == 0
    )


def _deciphered(answer: Answer, apdu: bytes) -> bytes:
    """The plain APDU of the meter's own ciphered answer, or b"" when it cannot tell (no keys, dedicated key)."""
    meter = answer.meter
    config = meter.clients.get(answer.client) if meter is not None and answer.client is not None else None
    if meter is None or config is None or config.keys is None:
        return b""
    try:
        return decipher_apdu(apdu, meter.identity.system_title, config.keys).apdu
    except DlmsError:
        return b""
