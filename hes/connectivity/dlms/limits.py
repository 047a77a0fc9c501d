"""The client's bounds on what a meter may send it; going past one is a remote error (`LimitExceeded`).

Every buffer the client keeps for a meter is bounded, so a hostile or broken meter costs at most these octets
and round trips before its session ends (habit 3). The defaults carry their reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CIPHERING_OVERHEAD",
    "HDLC_FRAME_OVERHEAD",
    "MAX_HDLC_FRAME",
    "ClientLimits",
]

# Octets ciphering adds around an APDU: tag and length (1 + 3), general-glo system title (1 + 8), security
# header (5) and GCM tag (12). A meter sizes its blocks with it included, but some count it on top.
CIPHERING_OVERHEAD = 32
# HDLC frame octets around the information field: format (2), addresses (up to 4 + 4), control (1), HCS (2),
# FCS (2), flags (2) (IEC 62056-46 6.4).
HDLC_FRAME_OVERHEAD = 17
# The HDLC frame format field gives the length in 11 bits (IEC 62056-46 6.4.1), so no frame is longer.
MAX_HDLC_FRAME = 0x7FF + 2


@dataclass(frozen=True, slots=True)
class ClientLimits:
    """Sizes the client proposes to the meter, and the most it accepts of one answer.

    Attributes:
        max_receive_pdu: the client max receive PDU size proposed in the AARQ. A meter must not send a longer
            APDU (longer answers come in GET blocks). 0xFFFF is the most the InitiateRequest can say and the
            most the wrapper length field carries; few round trips matter more than memory on 2G links.
        max_info_field: the HDLC information field length proposed in the SNRM, both ways (128 is the
            IEC 62056-46 default every meter accepts).
        max_answer_octets: the most octets of one reassembled answer (all its blocks and segments). A year of a
            30-column 15-minute profile is ~5 MB; a day of a 4-channel profile is ~4 kB.
        max_round_trips: the most GET blocks / HDLC segments fetched for one answer. A month of a 4-channel
            profile over 128-octet HDLC segments is ~1,000; a meter that never says "last block" stops here.
    """

    max_receive_pdu: int = 0xFFFF
    max_info_field: int = 128
    max_answer_octets: int = 16 * 1024 * 1024
    max_round_trips: int = 20_000

    def __post_init__(self) -> None:
        # 12 is the smallest PDU IEC 62056-5-3 allows; 32 the smallest info field worth a segment.
        if not 12 <= self.max_receive_pdu <= 0xFFFF:
            raise ValueError(f"max_receive_pdu {self.max_receive_pdu} is not 12-65535")
        if not 32 <= self.max_info_field <= MAX_HDLC_FRAME - HDLC_FRAME_OVERHEAD:
            raise ValueError(f"max_info_field {self.max_info_field} is not 32-{MAX_HDLC_FRAME - HDLC_FRAME_OVERHEAD}")
        if self.max_answer_octets < self.max_receive_pdu or self.max_round_trips < 1:
            raise ValueError("max_answer_octets must hold one PDU and max_round_trips be at least 1")

    @property
    def max_wrapper_apdu(self) -> int:
        """The longest wrapper payload accepted: one PDU plus ciphering (never past the 16-bit length field)."""
        return min(self.max_receive_pdu + CIPHERING_OVERHEAD, 0xFFFF)

    @property
    def max_hdlc_frame(self) -> int:
        """The longest HDLC frame accepted, flags included."""
        return min(self.max_info_field + HDLC_FRAME_OVERHEAD, MAX_HDLC_FRAME)
