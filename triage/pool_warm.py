"""Imported once, by the fork server of the import's worker pool (``triage.workers.Workers``): warms that process
(``workers.warm``) so that every worker forked from it starts with the parser's patterns compiled and the default
classifier loaded, instead of each worker paying for both on its first batch."""

from triage.workers import warm

warm()
