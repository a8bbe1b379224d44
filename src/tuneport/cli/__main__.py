from tuneport.cli import main

main()
