"""CSV import and templates over HTTP: round trip, Excel files, bad rows, modes, dry runs, bad files, limits, roles."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx import AsyncClient
from sqlalchemy import func, select

from hes.config import Settings
from hes.db.enums import AssignmentKind, MeterStatus, Role, SimStatus
from hes.db.tables import AuditEntry, Customer, Meter, MeterAssignment, SimCard
from hes.runtime import Runtime
from tests.conftest import UserFactory

SIM_HEADER = "simNumber,iccid,imsi,msisdn,provider,status,ipAddress,apn,dataLimit,activationDate"
CUSTOMER_HEADER = (
    "customerName,accountNumber,address,phoneNumber,email,area,meterAssigned,customerType,tariffPlan,connectionDate"
)
METER_HEADER = "meterNumber,concentratorId,meterType,brand,model,firmware,ipAddress,port,area,customer,simCard"
IMPORT_PATHS = {"simcards": "/api/sims/import", "customers": "/api/customers/import", "meters": "/api/meters/import"}


def _csv(header: str, *rows: str) -> bytes:
    return ("\n".join((header, *rows)) + "\n").encode()


async def _upload(
    client: AsyncClient, entity: str, data: bytes, headers: dict[str, str], *, raw: bool = False, **params: str
) -> httpx.Response:
    path = IMPORT_PATHS[entity]
    if raw:
        return await client.post(path, content=data, headers={**headers, "Content-Type": "text/csv"}, params=params)
    return await client.post(path, files={"file": ("upload.csv", data, "text/csv")}, headers=headers, params=params)


async def _imported(client: AsyncClient, entity: str, data: bytes, headers: dict[str, str], **params: str) -> Any:
    answer = await _upload(client, entity, data, headers, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _count(runtime: Runtime, table: type[Any], *criteria: Any) -> int:
    async with runtime.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(table).where(*criteria)) or 0)


async def _meter(runtime: Runtime, number: str) -> Meter:
    async with runtime.sessions() as session:
        meter = await session.scalar(select(Meter).where(Meter.meter_number == number))
        assert meter is not None, number
        return meter


async def _sim_status(runtime: Runtime, number: str) -> SimStatus:
    async with runtime.sessions() as session:
        status = await session.scalar(select(SimCard.status).where(SimCard.sim_number == number))
        assert status is not None, number
        return SimStatus(status)


async def _area(client: AsyncClient, headers: dict[str, str], code: str, name: str) -> None:
    answer = await client.post("/api/areas", json={"code": code, "name": name}, headers=headers)
    assert answer.status_code == 201, answer.text


async def _seed(client: AsyncClient, headers: dict[str, str]) -> None:
    """Areas NORTH and SOUTH, SIM-1..SIM-3 (SIM-3 suspended), customer ACC-1, meter M-OLD on SIM-2."""
    await _area(client, headers, "NORTH", "North Region")
    await _area(client, headers, "SOUTH", "South Region")
    sims = _csv(
        SIM_HEADER,
        "SIM-1,8923401000000000001,,,MTN,available,,,,",
        "SIM-2,8923401000000000002,,,MTN,,,,,",
        "SIM-3,8923401000000000003,,,MTN,suspended,,,,",
    )
    assert (await _imported(client, "simcards", sims, headers))["imported"] == 3
    customers = _csv(CUSTOMER_HEADER, "Ada Obi,ACC-1,,,,NORTH,,,,")
    assert (await _imported(client, "customers", customers, headers))["imported"] == 1
    meters = _csv(METER_HEADER, "M-OLD,,,,,,,,NORTH,,SIM-2")
    assert (await _imported(client, "meters", meters, headers))["imported"] == 1


async def test_templates_download_and_import_as_they_are_in_order(
    client: AsyncClient, viewer: dict[str, str], login_as: UserFactory, runtime: Runtime
) -> None:
    importer = await login_as(Role.OPERATOR, username="importer")
    await _area(client, importer, "ZETA", "Zeta")
    await _area(client, importer, "ALPHA", "Alpha")
    expected = {"simcards": SIM_HEADER, "customers": CUSTOMER_HEADER, "meters": METER_HEADER}
    for entity in ("simcards", "customers", "meters"):
        template = await client.get(f"/api/templates/{entity}", headers=viewer)
        assert template.status_code == 200, template.text
        assert template.headers["content-type"].startswith("text/csv")
        assert template.headers["content-disposition"] == f'attachment; filename="{entity}-template.csv"'
        text = template.content.decode("utf-8-sig")
        assert text.splitlines()[0] == expected[entity]
        header, example = list(csv.reader(io.StringIO(text)))
        if entity != "simcards":
            assert example[header.index("area")] == "ALPHA"
        report = await _imported(client, entity, template.content, importer)
        assert (report["totalRows"], report["imported"], report["failed"], report["errors"]) == (1, 1, 0, [])

    meter = await _meter(runtime, "MTR-EXAMPLE-001")
    assert meter.customer_id is not None and meter.sim_card_id is not None
    assert meter.status is MeterStatus.INSTALLED and meter.installed_at is not None
    assert await _sim_status(runtime, "SIM-EXAMPLE-001") is SimStatus.ACTIVE
    assert await _count(runtime, MeterAssignment, MeterAssignment.assigned_by == "importer") == 2
    assert await _count(runtime, AuditEntry, AuditEntry.action == "import", AuditEntry.actor == "importer") == 3
    again = await _upload(
        client, "simcards", (await client.get("/api/templates/simcards", headers=viewer)).content, importer
    )
    assert again.status_code == 422
    assert {(p["row"], p["field"]) for p in again.json()["error"]["details"]} == {
        (2, "simNumber"),
        (2, "iccid"),
        (2, "imsi"),
    }


async def test_template_area_is_empty_without_areas(client: AsyncClient, viewer: dict[str, str]) -> None:
    text = (await client.get("/api/templates/customers", headers=viewer)).content.decode("utf-8-sig")
    header, example = list(csv.reader(io.StringIO(text)))
    assert example[header.index("area")] == "" and example[header.index("customerName")]


async def test_excel_file_with_bom_semicolons_quotes_and_crlf_imports(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    await _area(client, operator, "NORTH", "North Region")
    data = (
        "\ufeff" + CUSTOMER_HEADER.upper().replace(",", ";") + "\r\n"
        'Ada Obi;ACC-1;"12 Ring Road; ""Block B""\r\nIbadan";+234 803 000 0001;Ada@Example.com;north region;;'
        "Commercial;C1;15/01/2024\r\n"
        "Femi Lawal;ACC-2;;;;;;;;\r\n"
    ).encode()
    answer = await _upload(client, "customers", data, operator, raw=True)
    assert answer.status_code == 200, answer.text
    assert answer.json()["imported"] == 2
    async with runtime.sessions() as session:
        ada = await session.scalar(select(Customer).where(Customer.account_number == "ACC-1"))
    assert ada is not None
    assert ada.address == '12 Ring Road; "Block B"\nIbadan'
    assert ada.email == "Ada@example.com" and ada.customer_type == "commercial"
    assert ada.area_id is not None and str(ada.connection_date) == "2024-01-15"


BROKEN_METERS = _csv(
    METER_HEADER,
    "M-1,DCU-1,single-phase,Hexing,HXE110,1.0,10.0.0.1,4059,NORTH,ACC-1,SIM-1",  # 2 good
    "M-1,,,,,,,,,,",  # 3 repeats row 2
    "M-OLD,,,,,,,,,,",  # 4 already stored
    "M-5,,,,,,,,NOWHERE,,",  # 5 unknown area
    "M-6,,,,,,,,,ACC-404,",  # 6 unknown customer
    "M-7,,,,,,,,,,SIM-404",  # 7 unknown SIM
    "M-8,,,,,,10.0.0.300,,,,",  # 8 bad IP
    "M-9,,,,,,10.0.0.9,70000,,,",  # 9 bad port
    "M-10,,Three Phase,,,,,,south region,,",  # 10 good
    "M-11,,,,,,,,,,SIM-2",  # 11 SIM already on M-OLD
    "4.7E+10,,banana,,,,,,,,",  # 12 two problems
    "M-13,,3P,,,,,,,,SIM-3",  # 13 good
)
BROKEN_METER_CELLS = {
    (3, "meterNumber"),
    (4, "meterNumber"),
    (5, "area"),
    (6, "customer"),
    (7, "simCard"),
    (8, "ipAddress"),
    (9, "port"),
    (11, "simCard"),
    (12, "meterNumber"),
    (12, "meterType"),
}


async def test_broken_file_lists_every_bad_row_and_writes_nothing(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    await _seed(client, operator)
    assignments = await _count(runtime, MeterAssignment)
    answer = await _upload(client, "meters", BROKEN_METERS, operator)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_input" and "9 of 12 rows" in error["message"]
    details = {(problem["row"], problem["field"]): problem for problem in error["details"]}
    assert set(details) == BROKEN_METER_CELLS
    assert "row 2" in details[(3, "meterNumber")]["message"]
    assert "already exists" in details[(4, "meterNumber")]["message"]
    assert "M-OLD" in details[(11, "simCard")]["message"]
    assert "scientific" in details[(12, "meterNumber")]["message"]
    assert details[(8, "ipAddress")]["value"] == "10.0.0.300"
    assert await _count(runtime, Meter) == 1
    assert await _count(runtime, MeterAssignment) == assignments
    assert await _sim_status(runtime, "SIM-1") is SimStatus.AVAILABLE


async def test_valid_only_writes_exactly_the_good_rows(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    await _seed(client, operator)
    report = await _imported(client, "meters", BROKEN_METERS, operator, mode="valid-only")
    assert (report["mode"], report["dryRun"], report["totalRows"], report["imported"], report["failed"]) == (
        "valid-only",
        False,
        12,
        3,
        9,
    )
    assert {(problem["row"], problem["column"]) for problem in report["errors"]} == BROKEN_METER_CELLS
    assert await _count(runtime, Meter) == 4
    good = await _meter(runtime, "M-1")
    assert good.status is MeterStatus.INSTALLED and good.customer_id and good.sim_card_id
    assert (await _meter(runtime, "M-10")).status is MeterStatus.WAREHOUSE
    assert (await _meter(runtime, "M-10")).meter_type == "three-phase"
    assert await _sim_status(runtime, "SIM-1") is SimStatus.ACTIVE
    assert await _sim_status(runtime, "SIM-3") is SimStatus.SUSPENDED
    assert await _count(runtime, MeterAssignment, MeterAssignment.kind == AssignmentKind.SIM) == 3


async def test_broken_sim_file_names_every_cell(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    await _seed(client, operator)
    data = _csv(
        SIM_HEADER,
        "SIM-10,8923401000000000101,621301000000101,+2348030000101,MTN,active,10.1.0.1,hes.ng,50,2024-02-29",
        "SIM-11,8.92340100000001E+18,,,,,,,,",  # Excel ate the ICCID
        "SIM-12,8923401000000000121,,,,,,,,31/02/2024",  # no such day
        "SIM-10,8923401000000000131,,,,,,,,",  # repeats row 2
        "SIM-14,8923401000000000001,,,,,,,,",  # ICCID of SIM-1
        "SIM-15,8923401000000000151,,,,lost,,,-5,",
        "SIM-16,8923401000000000161,12345,,,,,,,",
    )
    answer = await _upload(client, "simcards", data, operator)
    assert answer.status_code == 422
    details = {(problem["row"], problem["field"]) for problem in answer.json()["error"]["details"]}
    assert details == {
        (3, "iccid"),
        (4, "activationDate"),
        (5, "simNumber"),
        (6, "iccid"),
        (7, "status"),
        (7, "dataLimit"),
        (8, "imsi"),
    }
    assert await _count(runtime, SimCard) == 3


async def test_dry_run_writes_nothing(client: AsyncClient, operator: dict[str, str], runtime: Runtime) -> None:
    await _seed(client, operator)
    good = _csv(METER_HEADER, "M-20,,,,,,,,,ACC-1,SIM-1", "M-21,,,,,,,,,,")
    report = await _imported(client, "meters", good, operator, dryRun="true")
    assert (report["dryRun"], report["imported"], report["failed"]) == (True, 2, 0)
    valid_only = await _imported(client, "meters", BROKEN_METERS, operator, dryRun="true", mode="valid-only")
    assert (valid_only["imported"], valid_only["failed"]) == (3, 9)
    assert (await _upload(client, "meters", BROKEN_METERS, operator, dryRun="true")).status_code == 422
    assert await _count(runtime, Meter) == 1
    assert await _sim_status(runtime, "SIM-1") is SimStatus.AVAILABLE
    assert await _count(runtime, AuditEntry, AuditEntry.action == "import") == 3  # the seed's three imports


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"simNumber,iccid\nS1,caf\xe9\n", ["UTF-8", "byte offset 22", "row 2"]),
        (b"", ["empty"]),
        (SIM_HEADER.encode() + b"\r\n", ["no data rows"]),
        (b"simNumber,colour\nS1,red\n", ["iccid", "colour"]),
    ],
)
async def test_bad_files_are_refused_at_once(
    client: AsyncClient, operator: dict[str, str], data: bytes, words: list[str]
) -> None:
    for raw in (False, True):
        answer = await _upload(client, "simcards", data, operator, raw=raw)
        assert answer.status_code == 422, answer.text
        error = answer.json()["error"]
        assert all(word in error["message"] for word in words), error


async def test_missing_form_field_is_named(client: AsyncClient, operator: dict[str, str]) -> None:
    answer = await client.post("/api/sims/import", files={"upload": ("a.csv", b"x")}, headers=operator)
    assert answer.status_code == 422 and answer.json()["error"]["details"][0]["field"] == "file"


async def test_oversized_uploads_are_refused(
    client: AsyncClient, operator: dict[str, str], settings: Settings, runtime: Runtime
) -> None:
    settings.import_max_bytes = 100
    data = _csv(SIM_HEADER, *(f"SIM-{n},89234010000000{n:05d},,,,,,,," for n in range(5)))
    for raw in (False, True):
        answer = await _upload(client, "simcards", data, operator, raw=raw)
        assert answer.status_code == 413, answer.text
        assert answer.json()["error"]["code"] == "too_large"

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit is enforced while reading
        for start in range(0, len(data), 40):
            yield data[start : start + 40]

    streamed = await client.post("/api/sims/import", content=chunks(), headers={**operator, "Content-Type": "text/csv"})
    assert streamed.status_code == 413
    assert await _count(runtime, SimCard) == 0


async def test_viewer_downloads_templates_but_cannot_import(
    client: AsyncClient, viewer: dict[str, str], runtime: Runtime
) -> None:
    data = _csv(SIM_HEADER, "SIM-1,8923401000000000001,,,,,,,,")
    for entity in IMPORT_PATHS:
        answer = await _upload(client, entity, data, viewer)
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "forbidden"
    assert (await _upload(client, "simcards", data, {})).status_code == 401
    assert (await client.get("/api/templates/meters")).status_code == 401
    assert (await client.get("/api/templates/readings", headers=viewer)).status_code == 422
    assert await _count(runtime, SimCard) == 0


async def test_five_thousand_meters_import_across_batches(
    client: AsyncClient, operator: dict[str, str], runtime: Runtime
) -> None:
    await _area(client, operator, "NORTH", "North Region")
    await _area(client, operator, "SOUTH", "South Region")
    customers = _csv(CUSTOMER_HEADER, *(f"Customer {n},ACC-{n},,,,NORTH,,,," for n in range(50)))
    assert (await _imported(client, "customers", customers, operator))["imported"] == 50
    sims = _csv(SIM_HEADER, *(f"SIM-{n},89234010000{n:08d},,,,,,,," for n in range(1000)))
    assert (await _imported(client, "simcards", sims, operator))["imported"] == 1000

    def row(n: int) -> str:
        customer = f"ACC-{n % 50}" if n % 5 == 0 else ""
        sim = f"SIM-{n}" if n < 1000 else ""
        address = f"10.{n // 256 % 256}.{n % 256}.1" if n % 2 == 0 else ""
        area = "NORTH" if n % 3 else "SOUTH"
        return f"MTR{n:05d},DCU-{n % 7},single-phase,Hexing,HXE110,1.0,{address},4059,{area},{customer},{sim}"

    report = await _imported(client, "meters", _csv(METER_HEADER, *(row(n) for n in range(5000))), operator)
    assert (report["totalRows"], report["imported"], report["failed"]) == (5000, 5000, 0)
    assert await _count(runtime, Meter) == 5000
    assert await _count(runtime, Meter, Meter.customer_id.is_not(None)) == 1000
    assert await _count(runtime, Meter, Meter.sim_card_id.is_not(None)) == 1000
    assert await _count(runtime, Meter, Meter.status == MeterStatus.INSTALLED) == 3000
    assert await _count(runtime, MeterAssignment, MeterAssignment.kind == AssignmentKind.CUSTOMER) == 1000
    assert await _count(runtime, MeterAssignment, MeterAssignment.kind == AssignmentKind.SIM) == 1000
    assert await _count(runtime, SimCard, SimCard.status == SimStatus.ACTIVE) == 1000
    assert (await _meter(runtime, "MTR04995")).customer_id is not None
    assert await _count(runtime, AuditEntry, AuditEntry.action == "import", AuditEntry.entity == "meter") == 1


async def test_a_row_with_a_bad_cell_still_gets_its_reference_and_duplicate_checks(
    client: AsyncClient, operator: dict[str, str]
) -> None:
    header = METER_HEADER + "\n"
    existing = header + "M-OLD,,,,,,,,,,\n"
    assert (await _upload(client, "meters", existing.encode(), operator)).status_code == 200
    broken = header + "M-OLD,,4-phase,,,,,,,NOBODY,SIM-NONE\n"
    answer = await _upload(client, "meters", broken.encode(), operator)
    assert answer.status_code == 422
    columns = {problem["field"] for problem in answer.json()["error"]["details"]}
    assert columns == {"meterType", "meterNumber", "customer", "simCard"}


async def test_a_nul_character_refuses_the_file_naming_its_row(client: AsyncClient, operator: dict[str, str]) -> None:
    data = (METER_HEADER + "\nM-1,,,,,,,,,,\nM-\x002,,,Hex\x00ing,,,,,,,\n").encode()
    answer = await _upload(client, "meters", data, operator)
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert "NUL" in error["message"] and error["details"][0]["row"] == 3
    assert (await client.get("/api/meters", headers=operator)).json()["total"] == 0
