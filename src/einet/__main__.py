from einet.cli import main

raise SystemExit(main())
