"""The profile build command: parse each vendor list, write its profile file, read it back."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from pathlib import Path

from hes.obis.build_profiles.common import write_profile
from hes.obis.build_profiles.hexcell import HEXCELL_CLIENTS, parse_hexcell
from hes.obis.build_profiles.hexing import HEXING_CLIENTS, parse_hexing
from hes.obis.profiles import ProfileError, read_profile

logger = logging.getLogger("hes.obis.build_profiles")

DATA_DIRECTORY = Path(__file__).resolve().parent.parent / "data"  # hes/obis/data
# brand -> (source file, its clients, its parser, extra header lines). Hexing's list holds only its power-quality
# objects; its meters are IDIS meters (the list marks which objects are IDIS's), so its profile extends idis.
BUILDS = {
    "hexing": ("hexing-obis-functions.txt", HEXING_CLIENTS, parse_hexing, ("extends: idis",)),
    "hexcell": ("hexcell-unified-obis-list.txt", HEXCELL_CLIENTS, parse_hexcell, ()),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Build every brand's profile file from the lists in the given directory; 0 on success, 1 on a bad list."""
    parser = argparse.ArgumentParser(prog="python -m hes.obis.build_profiles", description=__doc__)
    parser.add_argument("source", type=Path, help="directory holding the vendors' OBIS lists")
    parser.add_argument("--out", type=Path, default=DATA_DIRECTORY, help="directory to write (default: package data)")
    arguments = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for brand, (source, clients, parse, directives) in BUILDS.items():
        try:
            objects = parse(arguments.source / source)
        except (OSError, ValueError) as error:
            logger.error("%s: %s", source, error)
            return 1
        comments = (
            f"HES Core brand profile {brand!r}, built from {source} by `python -m hes.obis.build_profiles`.",
            "Do not edit by hand: change the build rules (hes/obis/build_profiles/) and run the build again.",
            *directives,
        )
        target = arguments.out / f"{brand}.csv"
        write_profile(target, comments, clients, objects)
        try:
            profile = read_profile(target)
        except ProfileError as error:
            logger.error("%s does not read back: %s", target, error)
            return 1
        logger.info("%s: %d objects of its own, %d with what it extends", target, len(objects), len(profile))
    return 0
