import sys

from idk.cli import main

sys.exit(main())
