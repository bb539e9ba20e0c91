"""Dial-in (LNS incoming calls): the subscriber sessions terminated on this router."""
