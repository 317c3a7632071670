"""The managed areas as the Python host reaches them: directory descriptors, every access
relative to its parent's descriptor, no link followed, no other mount entered, locked files
kept — the native host's rules (``host/src/capabilities/fs/``), for ``host-fs``.

:class:`bachata_common.fs.areas.Areas` opens the areas; :mod:`~bachata_common.fs.walk` streams
them; :mod:`~bachata_common.fs.remove` removes what the policy asks.
"""
