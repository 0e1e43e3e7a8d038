"""A simulated MMDAgent-EX host, and the drivers that run it against a controller or a process."""
