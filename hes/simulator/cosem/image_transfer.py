"""Image transfer (class 18, Blue Book 4.4.6): a firmware image sent block by block, verified, then activated.

image_transfer_initiate(identifier, size) starts a transfer; image_block_transfer(number, value) stores block
`number` (numbered from 0, each image_block_size octets but the last); image_verify checks every block arrived;
image_activate makes the image the meter's (the meter state is told, with the identifier). Blocks may come in any
order and more than once. The image is held in memory, so its size has a limit.
"""

from __future__ import annotations

from enum import IntEnum

from hes.obis.profile_types import CosemObjectSpec
from hes.simulator.cosem.base import ActionOutcome, CosemObject, ReadResult, Resolver
from hes.simulator.cosem.shared import Setting
from hes.simulator.cosem.state import MeterState
from hes.simulator.dlms.apdu_services import ActionResult
from hes.simulator.dlms.values import (
    BitString,
    Data,
    DataType,
    array,
    boolean,
    double_long_unsigned,
    enum,
    octets,
    structure,
)

__all__ = ["DEFAULT_BLOCK_SIZE", "MAX_IMAGE_SIZE", "ImageTransfer", "ImageTransferStatus"]

# Largest image a simulated meter accepts. Electricity meter firmware is 100 KB to 1 MB; 4 MiB bounds the memory
# one client can make a simulated meter hold.
MAX_IMAGE_SIZE = 4 * 1024 * 1024
# image_block_size when the profile gives none: what fits a 256-octet APDU with its headers, a common choice.
DEFAULT_BLOCK_SIZE = 192


class ImageTransferStatus(IntEnum):
    """image_transfer_status (attribute 6)."""

    NOT_INITIATED = 0
    INITIATED = 1
    VERIFICATION_INITIATED = 2
    VERIFICATION_SUCCESSFUL = 3
    VERIFICATION_FAILED = 4
    ACTIVATION_INITIATED = 5
    ACTIVATION_SUCCESSFUL = 6
    ACTIVATION_FAILED = 7


class ImageTransfer(CosemObject):
    """Image transfer (class 18): receives, verifies and activates one image at a time."""

    SETTINGS = (Setting(5, boolean(True)),)  # image_transfer_enabled

    def __init__(self, spec: CosemObjectSpec, state: MeterState, resolve: Resolver) -> None:
        super().__init__(spec, state, resolve)
        block_size = self.initial(2, double_long_unsigned(DEFAULT_BLOCK_SIZE)).value
        self.block_size = block_size if isinstance(block_size, int) and block_size > 0 else DEFAULT_BLOCK_SIZE
        self.status = ImageTransferStatus.NOT_INITIATED
        self.identifier = b""
        self.size = 0
        self.blocks: dict[int, bytes] = {}

    def read(self, attribute: int) -> ReadResult | None:
        """image_block_size (2), image_transferred_blocks_status (3), image_first_not_transferred_block_number
        (4), image_transfer_status (6) and image_to_activate_info (7)."""
        if attribute == 2:
            return double_long_unsigned(self.block_size)
        if attribute == 3:
            return self._transferred_blocks()
        if attribute == 4:
            return double_long_unsigned(self._first_missing())
        if attribute == 6:
            return enum(self.status)
        if attribute == 7:
            return self._to_activate()
        return None

    def invoke(self, method: int, parameters: Data | None) -> ActionOutcome | None:
        """image_transfer_initiate (1), image_block_transfer (2), image_verify (3) and image_activate (4)."""
        if method == 1:
            return self._initiate(parameters)
        if method == 2:
            return self._block(parameters)
        if method == 3:
            return self._verify(parameters)
        if method == 4:
            return self._activate(parameters)
        return None

    @property
    def block_count(self) -> int:
        """How many blocks the image being transferred has."""
        return -(-self.size // self.block_size)

    def image(self) -> bytes:
        """The image received so far (missing blocks left out)."""
        return b"".join(self.blocks[number] for number in sorted(self.blocks))

    def _enabled(self) -> bool:
        return self.stored(5).value is True

    def _transferred_blocks(self) -> Data:
        bits = bytearray(-(-self.block_count // 8))
        for number in self.blocks:
            bits[number // 8] |= 0x80 >> (number % 8)
        return Data(DataType.BIT_STRING, BitString(self.block_count, bytes(bits)))

    def _first_missing(self) -> int:
        return next((number for number in range(self.block_count) if number not in self.blocks), self.block_count)

    def _to_activate(self) -> Data:
        if self.status is ImageTransferStatus.NOT_INITIATED:
            return array()
        return array(structure(double_long_unsigned(self.size), octets(self.identifier), octets(b"")))

    def _initiate(self, parameters: Data | None) -> ActionOutcome:
        fields = _fields(parameters, (DataType.OCTET_STRING, DataType.DOUBLE_LONG_UNSIGNED))
        if fields is None:
            return ActionResult.TYPE_UNMATCHED
        identifier, size = fields
        if not isinstance(identifier, bytes) or not isinstance(size, int):
            return ActionResult.TYPE_UNMATCHED
        if not self._enabled() or not 0 < size <= MAX_IMAGE_SIZE:
            return ActionResult.OTHER_REASON
        self.identifier, self.size, self.blocks = identifier, size, {}
        self.status = ImageTransferStatus.INITIATED
        self.state.method_invoked(self.obis, 1, parameters)
        return ActionResult.SUCCESS

    def _block(self, parameters: Data | None) -> ActionOutcome:
        fields = _fields(parameters, (DataType.DOUBLE_LONG_UNSIGNED, DataType.OCTET_STRING))
        if fields is None:
            return ActionResult.TYPE_UNMATCHED
        number, value = fields
        if self.status not in (ImageTransferStatus.INITIATED, ImageTransferStatus.VERIFICATION_FAILED):
            return ActionResult.OTHER_REASON  # no transfer in progress
        if not isinstance(number, int) or not isinstance(value, bytes) or not 0 <= number < self.block_count:
            return ActionResult.OTHER_REASON
        expected = min(self.block_size, self.size - number * self.block_size)
        if len(value) != expected:
            return ActionResult.OTHER_REASON
        self.blocks[number] = value
        self.status = ImageTransferStatus.INITIATED
        return ActionResult.SUCCESS

    def _verify(self, parameters: Data | None) -> ActionOutcome:
        if self.status is ImageTransferStatus.NOT_INITIATED:
            return ActionResult.OTHER_REASON
        complete = self._first_missing() == self.block_count
        self.status = (
            ImageTransferStatus.VERIFICATION_SUCCESSFUL if complete else ImageTransferStatus.VERIFICATION_FAILED
        )
        self.state.method_invoked(self.obis, 3, parameters)
        return ActionResult.SUCCESS if complete else ActionResult.OTHER_REASON

    def _activate(self, parameters: Data | None) -> ActionOutcome:
        # An image not verified yet is verified first (Blue Book 4.4.6, image_activate).
        if self.status is ImageTransferStatus.INITIATED:
            self._verify(None)
        if self.status is not ImageTransferStatus.VERIFICATION_SUCCESSFUL:
            return ActionResult.OTHER_REASON
        self.status = ImageTransferStatus.ACTIVATION_SUCCESSFUL
        self.state.method_invoked(self.obis, 4, octets(self.identifier))
        return ActionResult.SUCCESS


def _fields(parameters: Data | None, types: tuple[DataType, ...]) -> tuple[object, ...] | None:
    """The values of a structure of the given member types, or None when it is not one."""
    if parameters is None or parameters.type is not DataType.STRUCTURE or len(parameters.items) != len(types):
        return None
    if any(item.type is not expected for item, expected in zip(parameters.items, types, strict=True)):
        return None
    return tuple(item.value for item in parameters.items)
