"""The runtime: the loop thread that feeds the controller, its workers, line I/O and logs."""
