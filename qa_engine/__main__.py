import sys

from qa_engine.cli import main

sys.exit(main())
