from ganzoo.apps.cli import main

main()
