"""The templates: exact headers, an Excel-friendly file, examples that read cleanly."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from hes.db.enums import Role
from hes.db.store.imports import AreaKey
from hes.services.imports import TEMPLATES, ImportEntity
from hes.services.imports.csv_source import CsvSource
from hes.services.imports.customers import CustomerImporter
from hes.services.imports.meters import MeterImporter
from hes.services.imports.references import AreaLookup, ImportContext
from hes.services.imports.simcards import SimCardImporter
from hes.services.principal import Principal
from tests.services.imports.conftest import CUSTOMER_HEADER, METER_HEADER, SIM_HEADER


def test_headers_are_exactly_the_documented_ones() -> None:
    assert ",".join(TEMPLATES[ImportEntity.SIMCARDS].headers) == SIM_HEADER
    assert ",".join(TEMPLATES[ImportEntity.CUSTOMERS].headers) == CUSTOMER_HEADER
    assert ",".join(TEMPLATES[ImportEntity.METERS].headers) == METER_HEADER
    assert TEMPLATES[ImportEntity.CUSTOMERS].required == ("customerName", "accountNumber")


def test_the_file_has_a_bom_crlf_and_the_area_code_or_nothing() -> None:
    text = TEMPLATES[ImportEntity.METERS].render("NORTH")
    assert text.startswith("\ufeffmeterNumber,") and text.count("\r\n") == 2
    header, example = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    assert example[header.index("area")] == "NORTH"
    header, example = csv.reader(io.StringIO(TEMPLATES[ImportEntity.METERS].render(None).removeprefix("\ufeff")))
    assert example[header.index("area")] == ""


def test_examples_read_without_problems_and_link_each_other() -> None:
    principal = Principal(1, "op", Role.OPERATOR)
    context = ImportContext(principal, AreaLookup([AreaKey(1, "NORTH", "North")], principal), datetime.now(UTC))
    drafts = {}
    for importer_type in (SimCardImporter, CustomerImporter, MeterImporter):
        template = importer_type.template
        (row,) = CsvSource(io.BytesIO(template.render("NORTH").encode()), template)
        parsed = importer_type(context).parse(row)
        assert parsed.problems == [] and parsed.row == 2
        drafts[template.entity] = parsed.draft
    meter = drafts[ImportEntity.METERS]
    assert meter.account_number == drafts[ImportEntity.CUSTOMERS].customer.account_number
    assert meter.sim_number == drafts[ImportEntity.SIMCARDS].sim_number
    assert drafts[ImportEntity.CUSTOMERS].meter_number is None
