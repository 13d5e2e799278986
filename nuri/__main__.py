import sys

from nuri.cli import main

sys.exit(main())
