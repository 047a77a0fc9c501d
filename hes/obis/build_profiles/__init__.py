"""Build the brand profile files of hes/obis/data/ from vendors' OBIS lists: `python -m hes.obis.build_profiles DIR`.

DIR holds hexing-obis-functions.txt (Hexing "OBIS Function" table) and hexcell-unified-obis-list.txt (Hexcell/IBEDC
"AMI System Unified OBIS List"). The build writes hexing.csv and hexcell.csv beside the hand-written idis.csv and
reads each back with the profile loader. The rules for what a list leaves open are in its parser's docstring
(`hexing`, `hexcell`); every row left out is logged with its line.
"""

from hes.obis.build_profiles.cli import main

__all__ = ["main"]
