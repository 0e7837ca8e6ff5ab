from depgraph.cli import main

main()
