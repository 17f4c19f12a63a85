"""UserU, the pretraining pairs (paper §3.1): D_future and D_uqa written from what a record shows, with reflection,
from any source of facets (a catalogue's, or clusters of event texts). It imports only the method.
"""
