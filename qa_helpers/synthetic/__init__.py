"""The synthetic world: latent traits and interests (traits, interests), the event catalogue (catalog), generation
(world), the ten tasks with their oracle (tasks), the catalogue's UserU facets (useru_catalogue), a second differently
shaped dataset (example_logs), count features and baselines (features, baselines), and the premise check (premise).
It imports method and useru only.
"""
