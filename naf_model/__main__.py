"""`python -m naf_model` is the `naf` command."""

import sys

from naf_model.cli import main

sys.exit(main())
