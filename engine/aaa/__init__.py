"""RADIUS client (sans-IO core, asyncio adapter) and dial-out reply interpretation."""
