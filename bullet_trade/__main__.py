"""``python -m bullet_trade`` runs the CLI."""

import sys

from bullet_trade.cli.main import main

sys.exit(main())
