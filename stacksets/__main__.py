import sys

from stacksets.cli import main

sys.exit(main())
