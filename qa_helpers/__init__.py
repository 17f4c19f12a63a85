"""qa_helpers: the package behind the Q-Anchor notebook series (arXiv 2602.14492).

Five layers, each importing only the ones before it: method (the method on any dataset spec), useru (UserU),
synthetic (the synthetic world), series (the notebooks' machinery), cli (the command line). The README's package
map lists their modules. Notebooks narrate, this package computes.
"""
