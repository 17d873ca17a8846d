import sys

from procurement.optimiser.cli import main

sys.exit(main())
