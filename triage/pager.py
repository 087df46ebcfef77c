"""Long output through a pager when stdout is a terminal, as git does; never when piped.

The pager is ``TRIAGE_PAGER``, else ``PAGER``, else ``less``, run through the shell; ``LESS`` defaults to
``FRX`` (quit if one screen, pass colours, keep the screen), ``LV`` to ``-c``. An empty pager or ``cat`` means
none. A pager that cannot be started prints the text directly.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys


def pager_command() -> str | None:
    """The pager to run, or None (not a terminal, or no pager wanted or found)."""
    if not sys.stdout.isatty():
        return None
    cmd = os.environ.get("TRIAGE_PAGER", os.environ.get("PAGER", "less")).strip()
    if not cmd or cmd == "cat":
        return None
    if cmd == "less" and shutil.which("less") is None:
        return None
    return cmd


def page(text: str) -> None:
    """Show ``text`` (one trailing newline added) through the pager, or print it."""
    text = text if text.endswith("\n") else text + "\n"
    cmd = pager_command()
    if cmd is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    env = {**os.environ}
    env.setdefault("LESS", "FRX")
    env.setdefault("LV", "-c")
    sys.stdout.flush()
    try:
        proc = subprocess.Popen(cmd, shell=True, stdin=subprocess.PIPE, env=env)
    except OSError:
        sys.stdout.write(text)
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C belongs to the pager, as with git
    try:
        proc.communicate(text.encode("utf-8", "replace"))
    except BrokenPipeError:       # the user quit the pager before reading everything
        pass
    finally:
        proc.wait()
        signal.signal(signal.SIGINT, previous)
