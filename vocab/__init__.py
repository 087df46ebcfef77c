"""Vocabularies shared by every part of syz-triage, each defined once.

``vocab`` sits at the bottom of the project: it imports nothing from the other packages, and the parser,
the classifiers, the simulator and the application all take their words from here: labels and their order
(``labels``), marker kinds (``markers``), gfp flag layouts (``gfp``) and the console-prefix grammar (``console``).
"""
