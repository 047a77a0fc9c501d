"""Image transfer: initiate, blocks in any order, verify, activate; refusals for every malformed step."""

from __future__ import annotations

import pytest

from hes.simulator.cosem import ImageTransferStatus, InMemoryMeterState, MeterObjects
from hes.simulator.cosem.image_transfer import MAX_IMAGE_SIZE, ImageTransfer
from hes.simulator.dlms.apdu_services import ActionResult, DataAccessResult
from hes.simulator.dlms.values import (
    BitString,
    Data,
    DataType,
    array,
    boolean,
    double_long_unsigned,
    enum,
    integer,
    octets,
    structure,
)
from tests.simulator.cosem.conftest import READING, ln

IMAGE_TRANSFER = ln("0-0:44.0.0.255")
IMAGE = bytes(range(256)) + bytes(range(244))  # 500 octets: blocks of 192, 192 and 116
IDENTIFIER = b"HXE-FW-2.0.0"


def _initiate(meter: MeterObjects, size: int = len(IMAGE), identifier: bytes = IDENTIFIER) -> object:
    return meter.action(18, IMAGE_TRANSFER, 1, structure(octets(identifier), double_long_unsigned(size)))


def _block(meter: MeterObjects, number: int, value: bytes | None = None) -> object:
    chunk = IMAGE[number * 192 : (number + 1) * 192] if value is None else value
    return meter.action(18, IMAGE_TRANSFER, 2, structure(double_long_unsigned(number), octets(chunk)))


def test_attributes_before_a_transfer(meter: MeterObjects) -> None:
    assert meter.get(18, IMAGE_TRANSFER, 2) == double_long_unsigned(192)
    assert meter.get(18, IMAGE_TRANSFER, 3) == Data(DataType.BIT_STRING, BitString(0, b""))
    assert meter.get(18, IMAGE_TRANSFER, 4) == double_long_unsigned(0)
    assert meter.get(18, IMAGE_TRANSFER, 5) == boolean(True)
    assert meter.get(18, IMAGE_TRANSFER, 6) == enum(ImageTransferStatus.NOT_INITIATED)
    assert meter.get(18, IMAGE_TRANSFER, 7) == array()


def test_a_whole_transfer(meter: MeterObjects, state: InMemoryMeterState) -> None:
    assert _initiate(meter) is None
    assert meter.get(18, IMAGE_TRANSFER, 6) == enum(ImageTransferStatus.INITIATED)
    assert meter.get(18, IMAGE_TRANSFER, 7) == array(
        structure(double_long_unsigned(len(IMAGE)), octets(IDENTIFIER), octets(b""))
    )
    assert _block(meter, 2) is None
    assert _block(meter, 0) is None
    assert meter.get(18, IMAGE_TRANSFER, 3) == Data(DataType.BIT_STRING, BitString(3, bytes([0b1010_0000])))
    assert meter.get(18, IMAGE_TRANSFER, 4) == double_long_unsigned(1)
    assert meter.action(18, IMAGE_TRANSFER, 3, integer(0)) is ActionResult.OTHER_REASON  # block 1 missing
    assert meter.get(18, IMAGE_TRANSFER, 6) == enum(ImageTransferStatus.VERIFICATION_FAILED)
    assert _block(meter, 1) is None
    assert _block(meter, 1) is None  # sent twice: accepted
    assert meter.action(18, IMAGE_TRANSFER, 3, integer(0)) is None
    assert meter.get(18, IMAGE_TRANSFER, 6) == enum(ImageTransferStatus.VERIFICATION_SUCCESSFUL)
    assert meter.action(18, IMAGE_TRANSFER, 4, integer(0)) is None
    assert meter.get(18, IMAGE_TRANSFER, 6) == enum(ImageTransferStatus.ACTIVATION_SUCCESSFUL)
    transfer = meter.object("0-0:44.0.0.255")
    assert isinstance(transfer, ImageTransfer) and transfer.image() == IMAGE
    assert state.invocations[-1][1:] == (4, octets(IDENTIFIER))


def test_activate_verifies_a_complete_image_first(meter: MeterObjects) -> None:
    _initiate(meter)
    for number in range(3):
        _block(meter, number)
    assert meter.action(18, IMAGE_TRANSFER, 4, integer(0)) is None


@pytest.mark.parametrize(
    ("step", "result"),
    [
        (lambda meter: _block(meter, 0), ActionResult.OTHER_REASON),  # no transfer in progress
        (lambda meter: meter.action(18, IMAGE_TRANSFER, 3, integer(0)), ActionResult.OTHER_REASON),
        (lambda meter: meter.action(18, IMAGE_TRANSFER, 4, integer(0)), ActionResult.OTHER_REASON),
        (lambda meter: _initiate(meter, size=0), ActionResult.OTHER_REASON),
        (lambda meter: _initiate(meter, size=MAX_IMAGE_SIZE + 1), ActionResult.OTHER_REASON),
        (lambda meter: meter.action(18, IMAGE_TRANSFER, 1, octets(IDENTIFIER)), ActionResult.TYPE_UNMATCHED),
        (lambda meter: meter.action(18, IMAGE_TRANSFER, 1, None), ActionResult.TYPE_UNMATCHED),
    ],
)
def test_refused_steps_before_a_transfer(meter: MeterObjects, step: object, result: ActionResult) -> None:
    assert step(meter) is result  # type: ignore[operator]


@pytest.mark.parametrize(
    ("number", "value"),
    [(3, b"x"), (0, b"short"), (2, IMAGE[384:] + b"!")],
)
def test_a_wrong_block_is_refused(meter: MeterObjects, number: int, value: bytes) -> None:
    _initiate(meter)
    assert _block(meter, number, value) is ActionResult.OTHER_REASON
    assert meter.get(18, IMAGE_TRANSFER, 4) == double_long_unsigned(0)


def test_block_parameters_of_the_wrong_type(meter: MeterObjects) -> None:
    _initiate(meter)
    wrong = structure(integer(0), octets(IMAGE[:192]))
    assert meter.action(18, IMAGE_TRANSFER, 2, wrong) is ActionResult.TYPE_UNMATCHED


def test_a_disabled_transfer_cannot_start(meter: MeterObjects) -> None:
    assert meter.set(18, IMAGE_TRANSFER, 5, None, boolean(False)) is DataAccessResult.SUCCESS
    assert _initiate(meter) is ActionResult.OTHER_REASON
    assert meter.set(18, IMAGE_TRANSFER, 5, None, integer(0)) is DataAccessResult.TYPE_UNMATCHED


def test_the_reading_client_cannot_transfer(meter: MeterObjects) -> None:
    assert _initiate(meter.for_client(READING)) is ActionResult.READ_WRITE_DENIED
    assert meter.for_client(READING).get(18, IMAGE_TRANSFER, 6) == enum(0)
