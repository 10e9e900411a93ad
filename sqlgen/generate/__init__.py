"""Generation of one chunk's rows: the run's plan (chunks, quotas), the population and its
draws (v1/v2 `draws`, v3 `draws_v3` and `episodes`), labelling, authorisation and the
chunk's SQL (`chunks`). Imports the world, config, the scenarios and the foundations.
"""
