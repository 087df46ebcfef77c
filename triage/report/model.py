"""The parsed report: plain dataclasses, JSON-able through ``to_dict``.

Two views of one input: the *report* syzkaller would extract (``title`` ... ``signature``, ``report``: the first
crash, its stacks, its guilty frame) and the *console*, the whole input read line by line
(``triage.report.console``: ``crash``, ``events``, ``trace``, ``markers``, ``locks``, ``gfp``), which is what a
crash's consequence is decided from. Line numbers (``lineno``) are 1-based lines of the input as given.
Stack names (``Frame.stack``, ``trace[].stack``) are one vocabulary: see ``triage.report.stacks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

PARSER_VERSION = "1.11"  # 1.11: a "divide error:" trap is a crash (an oops) of the console reading, as of the title;
                         # 1.10: a web mailer's character references read as the characters ("-&gt; #1" is "-> #1");
                         # 1.9: no-break spaces read as blanks (a mail client's indentation of a pasted trace);
                         # 1.8: titles by syzkaller's newer frame-skip list (iput, drop_nlink, ...), KMSAN's encryption
                         # skips, "... corrupted" for a bare header, inconsistent lock state by its stack, arm faults by
                         # pc and backtrace, a bad page map frameless, a crash type by its title where the format cannot
                         # tell, era dates checked on syzbot's mails; 1.7: the report ends where syzkaller's does (a
                         # panic or deadlock report past its first 22 lines, 16 for KMSAN; questionable frames in every
                         # form, only past a console prefix; a syzkaller program line between console lines not a
                         # wrapped line's rest); 1.6: KASAN's buggy-row ">" kept in the report (not a mail quote); 1.5:
                         # ARM backtrace lines cut by a mail client joined; 1.4: headers need corroborating kernel
                         # output; event types


@dataclass
class Frame:
    function: str
    norm_function: str
    stack: str = "crash"          # crash | crash-N | irq | lockdep-chain-N | other-task:<comm>/<pid> | ...
    offset: str | None = None
    size: str | None = None
    file: str | None = None
    line: int | None = None
    inline: bool = False
    module: str | None = None


@dataclass
class Report:
    title: str | None = None
    type: str | None = None
    alt_titles: list[str] = field(default_factory=list)
    # The day the kernel in the report dates to (triage.report.era) and the title syzkaller's rules of that
    # day give (title formats, frame-skip lists and number replacement changed since): what syzbot named
    # bugs of that time, for matching old bugs. ``title`` is always today's syzkaller title.
    era: str | None = None
    era_title: str | None = None
    corrupted: bool = False
    corrupted_reason: str | None = None
    guilty_file: str | None = None
    guilty_frame: str | None = None
    frames: list[Frame] = field(default_factory=list)       # the extracted report's stacks (stacks.extract_frames)
    # Over the whole input (console.read_console): every gfp mask, decoded (gfp.find_gfp: raw, value, flags,
    # bits, line, lineno, ...); every evidence marker (markers: kind of vocab.markers, line, lineno, task,
    # task_lineno, kind fields)
    gfp: list[dict] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    kernel: str | None = None
    task: dict | None = None
    signature: list[str] = field(default_factory=list)
    report: str = ""                       # the extracted report text (the crash, without unrelated console noise)
    # When syzkaller would find no crash but the log shows lost data (triage.report.events): kind, title,
    # lineno, line, text. ``title`` stays None then; stores use ``display_title``.
    event: dict | None = None
    # The primary crash of the console: the first crash header (kind: console.KINDS, lineno, line, function,
    # function_lineno, function_line, file, task {comm, pid}, task_lineno, task_line, in_irq, before: the
    # [lineno, line] pairs just above it); None when the input has no crash header.
    crash: dict | None = None
    events: list[dict] = field(default_factory=list)     # every crash header: kind, lineno, line, task, task_lineno
    trace: list[dict] = field(default_factory=list)      # every frame: function (no .constprop/.isra suffix),
    #                                                      stack, lineno, line (and unreliable: true for "? f")
    locks: list[dict] = field(default_factory=list)      # lockdep locks and usage states (stacks.lockdep_locks)

    @property
    def display_title(self) -> str | None:
        """The syzkaller-compatible title, else the triage event's title."""
        return self.title or (self.event or {}).get("title")

    def to_dict(self) -> dict:
        """JSON-able, fields in declaration order (a shallow copy: ``dataclasses.asdict`` deep-copies every
        frame, a third of an import's time)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["frames"] = [{f.name: getattr(fr, f.name) for f in _FRAME_FIELDS} for fr in self.frames]
        out["alt_titles"] = list(self.alt_titles)
        return out


_FRAME_FIELDS = fields(Frame)
