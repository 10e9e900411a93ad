"""Publication: the out_dir's layout and ownership, the atomic exchange of a finished run
(`writer`), its validation, and delivery to S3. Imports generation and below.
"""
