from __future__ import annotations

from relay.cli.main import main

main()
