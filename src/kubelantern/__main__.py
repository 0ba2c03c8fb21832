"""Allow ``python -m kubelantern``."""

from kubelantern.cli import main

raise SystemExit(main())
