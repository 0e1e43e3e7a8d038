"""Settings from their sources: a TOML file, the environment and the command line's flags."""
