from validatiestraat.cli import main

main()
