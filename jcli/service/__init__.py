"""The router as a long-running service: `jcli serve`, operator sessions over a local socket,
telnet and SSH, and the clients `jcli attach` / `jcli --socket`."""
