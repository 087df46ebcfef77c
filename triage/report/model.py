"""The parsed report: plain dataclasses, JSON-able through ``to_dict``."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

PARSER_VERSION = "1.2"


@dataclass
class Frame:
    function: str
    norm_function: str
    stack: str = "crash"          # crash | lockdep-chain-N | unsafe-scenario | task:<comm>/<pid> | ...
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
    frames: list[Frame] = field(default_factory=list)
    gfp: list[dict] = field(default_factory=list)
    markers: list[dict] = field(default_factory=list)
    kernel: str | None = None
    task: dict | None = None
    signature: list[str] = field(default_factory=list)
    report: str = ""
    # When syzkaller would find no crash but the log shows lost data (triage.report.events): kind, title,
    # lineno, line, text. ``title`` stays None then; stores use ``display_title``.
    event: dict | None = None              # the extracted report text (the crash, without unrelated console noise)

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
