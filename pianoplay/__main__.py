import sys

from pianoplay.cli import main

sys.exit(main())
