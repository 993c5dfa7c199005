from mgadvisor.cli import main

main()
