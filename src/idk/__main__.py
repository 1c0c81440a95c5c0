import sys

from idk.apps.cli import main

sys.exit(main())
