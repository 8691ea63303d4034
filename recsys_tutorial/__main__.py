"""``python -m recsys_tutorial bench ...``: see :mod:`recsys_tutorial.bench`."""

from .bench import main

raise SystemExit(main())
