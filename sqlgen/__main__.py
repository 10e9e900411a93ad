from sqlgen.cli import entrypoint

entrypoint()
