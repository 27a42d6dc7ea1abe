from radar.cli.main import main

raise SystemExit(main())
