"""Command modules: each declares its commands with jcli.registry.command on import.
jcli.registry.load_commands() imports every module of this package."""
