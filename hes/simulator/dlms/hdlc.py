"""IEC 62056-46 HDLC for the meter side: one import point for the frame codec and the link state machine.

The frame format, addresses, control field, FCS and stream reader live in `hdlc_frame.py`; the secondary
station's state machine (SNRM/UA negotiation, I-frames, segmentation, DISC) in `hdlc_link.py`.
"""

from hes.simulator.dlms.hdlc_frame import (
    FrameKind,
    HdlcAddress,
    HdlcFrame,
    HdlcFrameReader,
    decode_frame,
    encode_frame,
    fcs16,
)
from hes.simulator.dlms.hdlc_link import (
    ApduReceived,
    HdlcLink,
    HdlcParameters,
    LinkConnected,
    LinkDisconnected,
    LinkEvent,
    LinkState,
)

__all__ = [
    "ApduReceived",
    "FrameKind",
    "HdlcAddress",
    "HdlcFrame",
    "HdlcFrameReader",
    "HdlcLink",
    "HdlcParameters",
    "LinkConnected",
    "LinkDisconnected",
    "LinkEvent",
    "LinkState",
    "decode_frame",
    "encode_frame",
    "fcs16",
]
