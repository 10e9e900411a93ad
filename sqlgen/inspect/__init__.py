"""Inspection of a published out_dir: `sqlgen inspect`, `sqlgen report` (text and HTML),
the table DDL for other engines. Reads what publication wrote; imports it and below.
"""
