from offhost_audit.cli import main

raise SystemExit(main())
