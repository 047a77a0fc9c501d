"""Checks for the identifiers a utility keys its records by; shared by the API schemas and the CSV import.

Each function returns the normalised value or raises ValueError with a sentence a user can act on.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime

from email_validator import EmailNotValidError, validate_email

_METER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,31}$")
_ACCOUNT_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-_/.]{0,31}$")
_DIGITS = re.compile(r"^\d+$")
# Excel turns long digit strings into "8.9234E+19" unless the column is formatted as text.
_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?[eE]\+?\d+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-]{7,20}$")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y")
# Markup and control characters (tab and line breaks allowed) have no place in names and labels; refusing them
# keeps stored text inert wherever it is shown.
_MARKUP = re.compile(r"[<>\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# An access point name is dot-separated labels of letters, digits and hyphens (3GPP TS 23.003 9.1).
_APN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.\-]*$")
# A monthly cap above 10 TB is a unit mistake (bytes typed as MB).
MAX_DATA_LIMIT_MB = 10_000_000


def meter_number(value: str) -> str:
    """A meter's serial number: 1-32 letters, digits, '-', '_', '/', '.'."""
    _refuse_scientific(value)
    if not _METER_NUMBER.match(value):
        raise ValueError("must be 1-32 letters or digits (and - _ / .), starting with a letter or digit")
    return value


def account_number(value: str) -> str:
    """A customer account number: 1-32 letters, digits, '-', '_', '/', '.'."""
    _refuse_scientific(value)
    if not _ACCOUNT_NUMBER.match(value):
        raise ValueError("must be 1-32 letters or digits (and - _ / .), starting with a letter or digit")
    return value


def iccid(value: str) -> str:
    """A SIM's ICCID (ITU-T E.118): 18-22 digits starting with the telecom prefix 89."""
    _refuse_scientific(value)
    if not _DIGITS.match(value) or not 18 <= len(value) <= 22:
        raise ValueError("an ICCID has 18-22 digits")
    if not value.startswith("89"):
        raise ValueError("an ICCID starts with 89 (telecommunications industry prefix)")
    return value


def imsi(value: str) -> str:
    """An IMSI (ITU-T E.212): MCC + MNC + MSIN, 14 or 15 digits."""
    _refuse_scientific(value)
    if not _DIGITS.match(value) or len(value) not in (14, 15):
        raise ValueError("an IMSI has 14 or 15 digits")
    return value


def msisdn(value: str) -> str:
    """A SIM's phone number in E.164: up to 15 digits, optional leading '+', spaces and dashes dropped."""
    _refuse_scientific(value)
    digits = re.sub(r"[ \-()]", "", value)
    bare = digits.removeprefix("+")
    if not _DIGITS.match(bare) or not 7 <= len(bare) <= 15:
        raise ValueError("an MSISDN has 7-15 digits, optionally after '+'")
    return digits


def phone_number(value: str) -> str:
    """A customer's phone number: 7-20 digits, spaces, dashes, brackets, optional leading '+'."""
    _refuse_scientific(value)
    if not _PHONE.match(value):
        raise ValueError("a phone number has 7-20 digits, optionally with + ( ) - and spaces")
    return value


def ip_address(value: str) -> str:
    """An IPv4 or IPv6 address, in canonical form."""
    try:
        return str(ipaddress.ip_address(value))
    except ValueError as error:
        raise ValueError("not an IPv4 or IPv6 address") from error


def port(value: str | int) -> int:
    """A TCP port, 1-65535."""
    try:
        number = int(value)
    except ValueError as error:
        raise ValueError("a port is a whole number 1-65535") from error
    if not 1 <= number <= 65535:
        raise ValueError("a port is a whole number 1-65535")
    return number


def email(value: str) -> str:
    """An e-mail address (syntax only: no DNS lookup), normalised."""
    try:
        return str(validate_email(value, check_deliverability=False).normalized)
    except EmailNotValidError as error:
        raise ValueError(f"not an e-mail address: {error}") from error


def calendar_date(value: str) -> date:
    """A date as YYYY-MM-DD (also YYYY/MM/DD, DD/MM/YYYY, DD-MM-YYYY, DD.MM.YYYY; an ISO time part is ignored)."""
    text = value.strip()
    if "T" in text or " " in text:
        text = text.replace(" ", "T").split("T", 1)[0]
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError("a date is YYYY-MM-DD (or DD/MM/YYYY)")


def plain_text(value: str) -> str:
    """A name or label: no '<', '>' or control characters."""
    if _MARKUP.search(value):
        raise ValueError("must not contain '<', '>' or control characters")
    return value


def apn(value: str) -> str:
    """An access point name: letters, digits, '.' and '-', starting with a letter or digit."""
    if not _APN.match(value):
        raise ValueError("an APN is letters, digits, '.' and '-', starting with a letter or digit")
    return value


def _refuse_scientific(value: str) -> None:
    if _SCIENTIFIC.match(value.strip()):
        raise ValueError(
            f"{value!r} looks like a number Excel shortened to scientific notation; "
            "format the column as Text and export again"
        )
