import sys

from nbtrack.cli.main import main

sys.exit(main())
