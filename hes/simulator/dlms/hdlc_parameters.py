"""HDLC link parameters (IEC 62056-46 6.4.4.4.3.2): what an SNRM proposes, what the UA states, and the agreement.

The information field of SNRM and UA is a parameter group: format identifier 0x81, group identifier 0x80, group
length, then (identifier, length, value) for the maximum information field lengths and window sizes each way. An
absent field or parameter means the default (128 octets, window 1). The link (`hdlc_link`) negotiates with
`negotiate`: the lesser of what the client proposes and what the meter can do.
"""

from __future__ import annotations

from dataclasses import dataclass

from hes.simulator.dlms.errors import RemoteProtocolError
from hes.simulator.dlms.hdlc_frame import DEFAULT_INFO_FIELD, MIN_INFO_FIELD

__all__ = ["HdlcParameters", "decode_parameters", "encode_parameters", "negotiate"]

# The SNRM/UA information field (62056-46 6.4.4.4.3.2): format identifier, group identifier, group length, then
# parameters as (identifier, length, value).
_FORMAT_ID = 0x81
_GROUP_ID = 0x80
_MAX_INFO_TRANSMIT = 0x05
_MAX_INFO_RECEIVE = 0x06
_WINDOW_TRANSMIT = 0x07
_WINDOW_RECEIVE = 0x08
_MAX_WINDOW = 7  # modulo-8 sequence numbers


@dataclass(frozen=True, slots=True)
class HdlcParameters:
    """Link parameters seen from the station that states them: what it transmits and what it receives."""

    max_info_transmit: int = DEFAULT_INFO_FIELD
    max_info_receive: int = DEFAULT_INFO_FIELD
    window_transmit: int = 1
    window_receive: int = 1


def encode_parameters(parameters: HdlcParameters) -> bytes:
    """The UA information field stating `parameters` (62056-46 6.4.4.4.3.2; windows on 4 octets as gurux does)."""
    body = bytearray()
    for identifier, value, size in (
        (_MAX_INFO_TRANSMIT, parameters.max_info_transmit, 1 if parameters.max_info_transmit < 0x100 else 2),
        (_MAX_INFO_RECEIVE, parameters.max_info_receive, 1 if parameters.max_info_receive < 0x100 else 2),
        (_WINDOW_TRANSMIT, parameters.window_transmit, 4),
        (_WINDOW_RECEIVE, parameters.window_receive, 4),
    ):
        body += bytes((identifier, size)) + value.to_bytes(size, "big")
    return bytes((_FORMAT_ID, _GROUP_ID, len(body))) + bytes(body)


def decode_parameters(information: bytes) -> HdlcParameters:
    """The parameters an SNRM proposes (the client's view); an absent field or parameter means the default.

    Raises:
        RemoteProtocolError: a malformed field, an unknown parameter, a maximum information field length below 32
            or a window size of 0.
    """
    if not information:
        return HdlcParameters()
    if len(information) < 3 or information[0] != _FORMAT_ID or information[1] != _GROUP_ID:
        raise RemoteProtocolError("SNRM information field is not an HDLC parameter group")
    if information[2] != len(information) - 3:
        raise RemoteProtocolError("SNRM parameter group length disagrees with the field")
    values: dict[int, int] = {}
    offset = 3
    while offset < len(information):
        if offset + 2 > len(information):
            raise RemoteProtocolError("SNRM parameter truncated")
        identifier, size = information[offset], information[offset + 1]
        if identifier not in (_MAX_INFO_TRANSMIT, _MAX_INFO_RECEIVE, _WINDOW_TRANSMIT, _WINDOW_RECEIVE):
            raise RemoteProtocolError(f"unknown SNRM parameter 0x{identifier:02X}")
        if not 1 <= size <= 4 or offset + 2 + size > len(information):
            raise RemoteProtocolError(f"SNRM parameter 0x{identifier:02X} has a bad length {size}")
        values[identifier] = int.from_bytes(information[offset + 2 : offset + 2 + size], "big")
        offset += 2 + size
    proposal = HdlcParameters(
        values.get(_MAX_INFO_TRANSMIT, DEFAULT_INFO_FIELD),
        values.get(_MAX_INFO_RECEIVE, DEFAULT_INFO_FIELD),
        values.get(_WINDOW_TRANSMIT, 1),
        values.get(_WINDOW_RECEIVE, 1),
    )
    if min(proposal.max_info_transmit, proposal.max_info_receive) < MIN_INFO_FIELD:
        raise RemoteProtocolError(f"maximum information field length below {MIN_INFO_FIELD}")
    if min(proposal.window_transmit, proposal.window_receive) < 1:
        raise RemoteProtocolError("window size 0")
    return proposal


def negotiate(proposal: HdlcParameters, capability: HdlcParameters) -> HdlcParameters:
    """The meter's parameters: the lesser of what the client proposes and what the meter can do (6.4.4.4.3.2)."""
    return HdlcParameters(
        max_info_transmit=min(proposal.max_info_receive, capability.max_info_transmit),
        max_info_receive=min(proposal.max_info_transmit, capability.max_info_receive),
        window_transmit=min(proposal.window_receive, capability.window_transmit, _MAX_WINDOW),
        window_receive=min(proposal.window_transmit, capability.window_receive, _MAX_WINDOW),
    )
