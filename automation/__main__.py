from automation.program import main

raise SystemExit(main())
