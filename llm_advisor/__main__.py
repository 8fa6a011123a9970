"""`python -m llm_advisor`: the same command line as the `llm-advisor` console script."""

import sys

from llm_advisor.cli.main import main

sys.exit(main())
