"""prompt_toolkit completer over the executor (TAB and the completion menu with help text)."""
from __future__ import annotations

from prompt_toolkit.completion import Completer, Completion

MAX_MENU = 500   # a longer menu is not readable; the first and last candidates keep TAB's
                 # common-prefix insertion identical to the full candidate list (it is sorted)


class CliCompleter(Completer):
    def __init__(self, executor, max_menu: int = MAX_MENU):
        self.executor = executor
        self.max_menu = max_menu

    def get_completions(self, document, complete_event):
        partial, cands = self.executor.completions(document.text_before_cursor)
        if len(cands) > self.max_menu:
            cands = cands[:self.max_menu - 1] + cands[-1:]
        start = -len(partial)
        for text, help_ in cands:
            yield Completion(text + " ", start_position=start, display=text, display_meta=help_)
