"""Reading a meter now, for a person (POST /api/meters/{id}/read): checks first, then one urgent job.

The meter must be one the caller may see (hes.services.meters.get_meter), not decommissioned, and have a DLMS
channel; the OBIS codes asked for must be registers of its brand profile (by default: its main registers). The
read goes ahead of any polling wave (priority ON_DEMAND) and its values are stored like any collected value. The
database connection of the request is given back before waiting for the meter.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from hes.connectivity.catalogue import REGISTER_CLASSES, brand_profile, main_registers
from hes.connectivity.collection import MeterValue
from hes.connectivity.dlms import DlmsError
from hes.connectivity.errors import ChannelError, ConnectivityUnavailable, MeterNotAnswering, read_failure
from hes.connectivity.meter_links import Channel, MeterTarget
from hes.connectivity.service import Connectivity
from hes.db.enums import MeterStatus
from hes.db.store import meter_links
from hes.errors import Conflict, InvalidInput, NotFound, Problem
from hes.obis.codes import ObisCode
from hes.services import meters
from hes.services.principal import Principal

__all__ = ["MAX_CODES", "read_meter", "wanted_codes"]

MAX_CODES = 100  # one GET-with-list's worth; more is a profile read, not a "read now"


async def read_meter(
    session: AsyncSession,
    principal: Principal,
    connectivity: Connectivity | None,
    meter_id: int,
    codes: Sequence[str] | None = None,
) -> list[MeterValue]:
    """The meter's values of `codes` (default: its main registers), read now; also stored.

    Raises:
        NotFound: no such meter, or not visible to the caller.
        Conflict: decommissioned, or no DLMS channel (an HTTP or MQTT meter, an outbound meter without address).
        InvalidInput: codes that are malformed, not in the brand profile, or not registers; each listed.
        ConnectivityUnavailable: connectivity is not running here.
        MeterNotAnswering: no answer in time (also: a dial-in meter not connected).
        MeterRefused: the meter refused the association or broke off the session.
    """
    meter = await meters.get_meter(session, principal, meter_id)
    if meter.status is MeterStatus.DECOMMISSIONED:
        problem = Problem("a decommissioned meter is not read", field="status")
        raise Conflict(f"meter {meter.meter_number} is decommissioned", [problem])
    rows = await meter_links.link_rows(session, [meter.id])
    await session.commit()  # nothing to write: give the connection back while the meter is read
    if not rows:  # deleted in between
        raise NotFound("meter", meter_id)
    if connectivity is None or not connectivity.running:
        raise ConnectivityUnavailable()
    target = MeterTarget.from_row(rows[0], connectivity.settings.default_port)
    if target.channel is Channel.NONE:
        problem = Problem(f"connection mode {target.connection_mode} without a DLMS address", field="connectionMode")
        raise Conflict(f"meter {meter.meter_number} has no DLMS channel", [problem])
    wanted = wanted_codes(target.brand, codes)
    try:
        return await connectivity.read(target, wanted)
    except TimeoutError:
        raise MeterNotAnswering(
            f"meter {meter.meter_number} did not answer within {connectivity.settings.read_timeout:g} s"
        ) from None
    except (DlmsError, ChannelError) as error:
        raise read_failure(error) from error


def wanted_codes(brand: str, codes: Sequence[str] | None) -> list[ObisCode]:
    """The registers to read: `codes` checked against the brand profile, or its main registers.

    Raises:
        InvalidInput: every code that is malformed, unknown to the brand or not a register (by position).
    """
    if not codes:
        return list(main_registers(brand))
    profile = brand_profile(brand)
    problems: list[Problem] = []
    wanted: list[ObisCode] = []
    if len(codes) > MAX_CODES:
        problems.append(Problem(f"at most {MAX_CODES} codes per read", field="obis"))
    for index, text in enumerate(codes):
        field = f"obis.{index}"
        try:
            code = ObisCode.parse(text)
        except ValueError as error:
            problems.append(Problem(str(error), field=field))
            continue
        spec = profile.find(code)
        if spec is None:
            problems.append(Problem(f"{code} is not an object of the {brand} profile", field=field))
        elif spec.class_id not in REGISTER_CLASSES:
            problems.append(Problem(f"{code} is interface class {spec.class_id}, not a register", field=field))
        elif code not in wanted:
            wanted.append(code)
    if problems:
        raise InvalidInput("OBIS codes this meter cannot read", problems)
    return wanted
