"""Navigation and exec commands: enable/disable, configure, exit/end, terminal length,
virtual-router context, saving the configuration."""
from __future__ import annotations

import asyncio
import os

from jcli.config.render import render_config
from jcli.config.store import ScriptError, atomic_write
from jcli.modes import CONFIG_MODES, MODES
from jcli.registry import CliError, command


def vr_names(ctx):
    return sorted(ctx.config.virtual_routers)


@command("user", "enable", ["Turn on privileged commands"], kind="nav")
async def enable(ctx):
    """Asks for the enable secret when one is set, except on a trusted line (the console, a
    local attach); a remote line without an enable secret needs privilege 15."""
    secret = ctx.config.operators.enable_secret
    if not getattr(ctx, "trusted", True):
        ask = getattr(ctx, "ask_secret", None)
        if secret is None:
            if getattr(ctx, "privilege", 1) < 15:
                raise CliError("No password set")
        elif ask is None:
            raise CliError("Password required")
        else:
            auth = getattr(ctx, "authenticator", None)
            word = await ask("Password: ")
            if auth is None or not await auth.check_enable(word or ""):
                raise CliError("Access denied")
    elif secret is not None and getattr(ctx, "ask_secret", None) is not None:
        from jcli.auth import verify_secret
        word = await ctx.ask_secret("Password: ")
        if not verify_secret(word or "", secret):
            raise CliError("Access denied")
    ctx.enter("exec")


@command("exec", "disable", ["Turn off privileged commands"], kind="nav")
def disable(ctx):
    ctx.enter("user")


@command("exec", "configure [terminal]", ["Enter configuration mode", "Configure from the terminal"],
         kind="nav")
def configure(ctx):
    ctx.enter("config")


@command("exec", "configure file WORD$path",
         ["Enter configuration mode", "Configure from a script file", "Script file name"])
async def configure_file(ctx, path):
    ex = getattr(ctx, "executor", None)
    if ex is None:
        raise CliError("No executor")
    try:
        ok = await ex.run_file(path)
    except ScriptError as e:
        raise CliError(str(e)) from None
    except OSError as e:
        raise CliError(f"Cannot read {path}: {e.strerror or e}") from None
    return ok


@command("*", "exit", ["Exit from the current mode"], kind="nav")
def exit_(ctx):
    target = MODES[ctx.mode].exit_to
    if ctx.mode == "exec" and getattr(ctx, "two_exits", False):
        ctx.enter("user")          # a login session: `exit` from # drops to >, then ends
    elif target is None:
        ctx.quit = True
    else:
        ctx.enter(target)
        if target == "exec":
            ctx.vrf = None


@command(CONFIG_MODES, "end", ["Exit to privileged exec mode"], kind="nav")
def end(ctx):
    ctx.enter("exec")


@command("exec*", "terminal length <0-512>$lines",
         ["Set terminal line parameters", "Set number of lines on a screen (0 = no paging)",
          "Number of lines"], kind="nav")
def terminal_length(ctx, lines):
    ctx.terminal_length = lines


@command("exec*", "terminal width <0-512>$columns",
         ["Set terminal line parameters", "Set width of the display terminal (0 = unlimited)",
          "Number of characters"], kind="nav")
def terminal_width(ctx, columns):
    ctx.terminal_width = columns


@command("exec*", "virtual-router WORD$name",
         ["Switch the CLI context to a virtual router", "Virtual router name (default returns)"],
         kind="nav", complete={"name": vr_names})
def exec_virtual_router(ctx, name):
    vr, _, vrf = name.partition(":")
    if vr not in ctx.config.virtual_routers:
        raise CliError(f'Virtual router "{vr}" does not exist')
    if vrf and vrf not in ctx.config.virtual_routers[vr].vrfs:
        raise CliError(f'VRF "{vrf}" does not exist in virtual router "{vr}"')
    ctx.vr, ctx.vrf = vr, (vrf or None)


_SAVING: set[str] = set()      # startup files being written now (one save at a time)


async def save(ctx) -> None:
    """Render now (the configuration as of this command), write off the event loop; a second
    save while one is being written is refused, as on the router."""
    path = ctx.startup_path
    if path in _SAVING:
        raise CliError("Non-Volatile memory is in use")
    text = "\n".join(render_config(ctx.config)) + "\n"
    _SAVING.add(path)
    try:
        await asyncio.to_thread(atomic_write, path, text)
    except OSError as e:
        raise CliError(f"Cannot save the configuration to {path}: {e.strerror or e}") from None
    finally:
        _SAVING.discard(path)
    ctx.write(f"Configuration saved to {os.path.basename(path)}")


@command("exec", "write [memory]", ["Write the running configuration", "To the startup file"])
async def write_memory(ctx):
    await save(ctx)


@command("exec", "copy running-configuration startup-configuration",
         ["Copy a configuration", "The running configuration", "To the startup configuration"])
async def copy_run_start(ctx):
    await save(ctx)
