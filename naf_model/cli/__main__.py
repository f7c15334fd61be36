"""`python -m naf_model.cli` is the `naf` command (as is `python -m naf_model`)."""

import sys

from naf_model.cli import main

sys.exit(main())
