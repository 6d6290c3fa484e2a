"""Developer tooling for running and testing Pwiic locally; never deployed."""
