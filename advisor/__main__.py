"""`python -m advisor` from a checkout: the same command line as the installed `llm-advisor` script."""

import sys

from llm_advisor.cli.main import main

sys.exit(main())
