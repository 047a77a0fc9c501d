"""`python -m hes.obis.build_profiles DIR`: build the brand profile files from the vendors' OBIS lists."""

import sys

from hes.obis.build_profiles.cli import main

sys.exit(main())
