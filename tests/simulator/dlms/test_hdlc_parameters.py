"""HDLC link parameters: the UA's parameter field, an SNRM's proposal, and what the meter agrees to."""

from __future__ import annotations

from hes.simulator.dlms.hdlc_parameters import HdlcParameters, decode_parameters, encode_parameters, negotiate


def test_ua_parameter_field_layout() -> None:
    assert encode_parameters(HdlcParameters()) == bytes.fromhex("818012050180060180070400000001080400000001")
    assert encode_parameters(HdlcParameters(1024, 256, 1, 1))[:10] == bytes.fromhex("81801405020400060201")


def test_snrm_parameters_default_when_absent() -> None:
    assert decode_parameters(b"") == HdlcParameters()
    assert decode_parameters(bytes.fromhex("818007050200800601ff")) == HdlcParameters(128, 255, 1, 1)


def test_the_meter_agrees_to_the_lesser_of_each_side_and_a_window_of_at_most_seven() -> None:
    proposal = HdlcParameters(max_info_transmit=512, max_info_receive=64, window_transmit=9, window_receive=3)
    capability = HdlcParameters(max_info_transmit=256, max_info_receive=1024, window_transmit=8, window_receive=8)
    # The client's transmit is the meter's receive and the other way round.
    assert negotiate(proposal, capability) == HdlcParameters(64, 512, 3, 7)
