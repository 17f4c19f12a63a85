"""The synthetic world: latent traits and interests, the event catalogue, generation, the ten tasks with their
oracle, the catalogue's UserU facets, a second differently shaped dataset, count features and baselines, and the
premise check.
"""
