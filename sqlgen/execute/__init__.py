"""Execution: chunk jobs (`tasks`), the executors that run them (in-process, processes
through a fork server, Dask, remote workers uploading to S3), process lifetime and
progress. Imports publication and below.
"""
