"""The course's tools, on top of everything else: the command line (``python -m mmcourse``),
grading, the course runner, budgets and notebook authoring. Chapters never import these."""
