"""qa_helpers: the package behind the Q-Anchor notebook series (arXiv 2602.14492).

One module per concern; see the README's module table. Notebooks narrate, this package computes.
"""
