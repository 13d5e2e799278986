import sys

from nuri.deid.cli import main

sys.exit(main())
