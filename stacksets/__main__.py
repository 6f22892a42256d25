import sys

from payments_dr.cli import main

sys.exit(main())
