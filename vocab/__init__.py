"""Vocabularies shared by every part of syz-triage, each defined once.

``vocab`` sits at the bottom of the project: it imports nothing from the other packages, and the parser,
the classifiers, the simulator and the application all take their words from here (labels and their order,
and, as they move here, marker kinds, gfp flag layouts and the console-prefix grammar).
"""
