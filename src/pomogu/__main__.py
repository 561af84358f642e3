from pomogu.cli import main

main()
